"""The aggregates digests and exports are made of: grouped in SQLite, handed out as typed rows.

The rows are NamedTuples: typed and immutable like the repositories'
dataclasses, and cheaper to make, which counts where a digest makes dozens.

Every digest query is bounded by (org_id, period) through the `answers_digest`
index, so a digest costs the same whether the database holds one organisation
or hundreds. Questions reach framework items through `question_items`, the
crosswalk captured per script version, so answers given under an old version
of a script count towards the same items as today's.

A digest reads several aggregates that must agree with each other; they are
read inside one transaction (`ReportRepo.snapshot`), so an answer committed
halfway cannot be counted by one and missed by another.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date
from typing import NamedTuple, TypeVar, get_args

from storage.actions import Action
from storage.db import Database
from storage.errors import NotFound
from storage.orgs import Org
from storage.rows import record
from storage.sessions import Audience
from storage.times import day, day_text, maybe_day_text

T = TypeVar("T")

_AUDIENCES: tuple[Audience, ...] = get_args(Audience)

# A respondent: a staff member by person (several sessions in a week are still one
# person), a service user by session. Person ids are positive, so -session id never clashes.
_RESPONDENT = "CASE WHEN s.person_id IS NULL THEN -s.id ELSE s.person_id END"

# Public so tests and the benchmark can check its query plan.
ITEM_GROUPS = f"""
SELECT a.period, q.item_id, a.audience,
       count(DISTINCT {_RESPONDENT}) AS n, count(*) AS answers, avg(a.score) AS mean
FROM answers a
JOIN question_items q
  ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
 AND q.framework = :framework
JOIN sessions s ON s.id = a.session_id
WHERE a.org_id = :org AND a.period IN (:period, :previous) AND a.score IS NOT NULL
  AND (:unit IS NULL OR a.unit_id = :unit)
GROUP BY a.period, q.item_id, a.audience
"""

_RESPONSES = f"""
SELECT a.period, a.audience, count(DISTINCT {_RESPONDENT}) AS n
FROM answers a JOIN sessions s ON s.id = a.session_id
WHERE a.org_id = :org AND a.period IN (:period, :previous) AND a.skipped = 0
  AND (:unit IS NULL OR a.unit_id = :unit)
GROUP BY a.period, a.audience
"""

_ENROLLED = """
SELECT count(DISTINCT m.person_id) FROM memberships m JOIN people p ON p.id = m.person_id
WHERE m.org_id = :org AND m.role = 'staff' AND p.active = 1
  AND (:unit IS NULL OR m.unit_id = :unit)
"""

# Comments of a group below k never leave the database: neither an audience with
# too few respondents nor an (audience, item) group whose mean is suppressed.
_COMMENTS = """
SELECT a.audience, a.comment,
       (SELECT json_group_array(q.item_id) FROM question_items q
         WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id
           AND q.framework = :framework) AS items
FROM answers a
WHERE a.org_id = :org AND a.period = :period AND (:unit IS NULL OR a.unit_id = :unit)
  AND a.comment IS NOT NULL AND trim(a.comment) <> ''
  AND a.audience IN (SELECT value FROM json_each(:audiences))
  AND NOT EXISTS (
      SELECT 1 FROM question_items q
       WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id
         AND q.framework = :framework
         AND a.audience || ' ' || q.item_id IN (SELECT value FROM json_each(:suppressed)))
ORDER BY a.answered_on DESC, a.id DESC
LIMIT :limit
"""

# Who a respondent is, as text: the token a staff member's sessions keep after /forget
# (and keep after rejoining in the same window), else the person, else the session (a
# service user, who gives feedback once a window).
_WHO = (
    "CASE WHEN s.respondent IS NOT NULL THEN 'r' || s.respondent"
    " WHEN s.person_id IS NOT NULL THEN 'p' || s.person_id ELSE 's' || s.id END"
)

# The ids a person's own answers carry: as a person, and as the token their sessions of
# a window keep after /forget (the mark's), through `_WHO` itself so they cannot differ.
_OWN = f"""
SELECT {_WHO} FROM (SELECT NULL AS respondent, :person AS person_id, NULL AS id) s
UNION
SELECT {_WHO} FROM (SELECT token AS respondent, NULL AS person_id, NULL AS id
                      FROM respondent_marks WHERE mark = :mark) s
"""

# Every scored answer of an organisation in a window of days, with the lens's item.
WINDOW_ANSWERS = f"""
SELECT a.audience, a.unit_id, {_WHO} AS respondent, a.question_id, q.item_id, a.score,
       a.answered_on, a.id
FROM answers a
JOIN question_items q
  ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
 AND q.framework = :framework
JOIN sessions s ON s.id = a.session_id
WHERE a.org_id = :org AND a.answered_on BETWEEN :start AND :end AND a.score IS NOT NULL
"""

# Comments of a window, newest first; which may be shown is decided with the scores.
_WINDOW_COMMENTS = f"""
SELECT a.audience, a.unit_id, {_WHO} AS respondent, a.comment,
       (SELECT json_group_array(q.item_id) FROM question_items q
         WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id
           AND q.framework = :framework) AS items
FROM answers a JOIN sessions s ON s.id = a.session_id
WHERE a.org_id = :org AND a.answered_on BETWEEN :start AND :end
  AND a.comment IS NOT NULL AND trim(a.comment) <> ''
ORDER BY a.answered_on DESC, a.id DESC
"""

# Active staff and their units (NULL: of no unit): who could have answered.
_ENROLLED_IDS = """
SELECT DISTINCT m.person_id, m.unit_id
FROM memberships m JOIN people p ON p.id = m.person_id
WHERE m.org_id = ? AND m.role = 'staff' AND p.active = 1
"""

# Open and started actions, and those done between `since` and `until` (still checked).
_ACTIONS = """
SELECT * FROM actions
WHERE org_id = :org AND (:unit IS NULL OR unit_id = :unit)
  AND (status IN ('open', 'started') OR (status = 'done' AND done_on BETWEEN :since AND :until))
ORDER BY due_on IS NULL, due_on, id
"""

_SUMMARY = f"""
SELECT q.framework, q.item_id, a.audience, count(*) AS answers,
       count(DISTINCT {_RESPONDENT}) AS people,
       avg(a.score) AS mean, min(a.answered_on) AS first_day, max(a.answered_on) AS last_day
FROM answers a
JOIN question_items q
  ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
JOIN sessions s ON s.id = a.session_id
WHERE a.score IS NOT NULL AND (:org IS NULL OR a.org_id = :org)
  AND (:since IS NULL OR a.answered_on >= :since)
GROUP BY q.framework, q.item_id, a.audience
"""


class ItemGroup(NamedTuple):
    """The scored answers of one audience on one framework item in one week."""

    period: str
    item_id: str
    audience: Audience
    n: int  # respondents
    answers: int
    mean: float | None


class Responses(NamedTuple):
    """How many respondents of an audience answered anything (not skipped) in a week."""

    period: str
    audience: Audience
    n: int


class CommentRow(NamedTuple):
    """A comment of a group of at least k, with its question's items under the lens."""

    audience: Audience
    comment: str
    item_ids: tuple[str, ...]


class WindowAnswer(NamedTuple):
    """One scored answer of a window, with whose it is (a respondent, never a name)."""

    audience: Audience
    unit_id: int | None
    respondent: str
    question_id: str
    item_id: str
    score: float
    answered_on: str
    id: int


class WindowComment(NamedTuple):
    """A comment of a window, with its group; shown only where its group's scores are."""

    audience: Audience
    unit_id: int | None
    respondent: str
    comment: str
    item_ids: tuple[str, ...]


class SummaryRow(NamedTuple):
    """The export's summary of one framework item and audience over the exported range."""

    framework: str
    item_id: str
    audience: Audience
    answers: int
    people: int
    mean: float
    first_day: date
    last_day: date


class ReportSnapshot:
    """The digest's reads, all inside the one transaction `ReportRepo.snapshot` opened.

    It lives on the database thread for as long as that transaction: keep it
    only within the function it was given to.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def org(self, org_id: int) -> Org:
        row = self._conn.execute("SELECT * FROM organisations WHERE id = ?", (org_id,)).fetchone()
        if row is None:
            raise NotFound(f"there is no organisation {org_id}")
        return record(Org, row)

    def unit_name(self, org_id: int, unit_id: int | None) -> str | None:
        """The unit's name (None for the whole organisation); `NotFound` for another's unit."""
        if unit_id is None:
            return None
        row = self._conn.execute(
            "SELECT name FROM units WHERE id = ? AND org_id = ?", (unit_id, org_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"organisation {org_id} has no unit {unit_id}")
        return str(row["name"])

    def window_segments(self, org_id: int) -> list[tuple[date, int]]:
        rows = self._conn.execute(
            "SELECT starts_on, weeks FROM window_plans WHERE org_id = ? ORDER BY starts_on",
            (org_id,),
        )
        return [(day(row["starts_on"]), int(row["weeks"])) for row in rows]

    def units(self, org_id: int) -> dict[int, str]:
        rows = self._conn.execute("SELECT id, name FROM units WHERE org_id = ?", (org_id,))
        return {int(row["id"]): str(row["name"]) for row in rows}

    def window_answers(
        self, org_id: int, framework: str, start: date, end: date
    ) -> list[WindowAnswer]:
        """Every scored answer given from `start` to `end` (days), under the lens."""
        params = {"org": org_id, "framework": framework, "start": day_text(start),
                  "end": day_text(end)}  # fmt: skip
        return [WindowAnswer(*row) for row in self._conn.execute(WINDOW_ANSWERS, params)]

    def window_comments(
        self, org_id: int, framework: str, start: date, end: date
    ) -> list[WindowComment]:
        params = {"org": org_id, "framework": framework, "start": day_text(start),
                  "end": day_text(end)}  # fmt: skip
        return [
            WindowComment(audience, unit_id, who, comment, tuple(json.loads(items)))
            for audience, unit_id, who, comment, items in self._conn.execute(
                _WINDOW_COMMENTS, params
            )
        ]

    def enrolled_staff_ids(self, org_id: int) -> list[tuple[int, int | None]]:
        """(person id, unit id) of every active staff membership."""
        return [(int(p), u) for p, u in self._conn.execute(_ENROLLED_IDS, (org_id,))]

    def item_groups(
        self, org_id: int, unit_id: int | None, framework: str, period: str, previous: str
    ) -> list[ItemGroup]:
        """Every (week, item, audience) group of the two weeks, below k or not."""
        params = {
            "org": org_id,
            "unit": unit_id,
            "framework": framework,
            "period": period,
            "previous": previous,
        }
        return [record(ItemGroup, row) for row in self._conn.execute(ITEM_GROUPS, params)]

    def responses(
        self, org_id: int, unit_id: int | None, period: str, previous: str
    ) -> list[Responses]:
        params = {"org": org_id, "unit": unit_id, "period": period, "previous": previous}
        return [record(Responses, row) for row in self._conn.execute(_RESPONSES, params)]

    def enrolled_staff(self, org_id: int, unit_id: int | None) -> int:
        """Active staff of the organisation (or unit): who could have answered."""
        row = self._conn.execute(_ENROLLED, {"org": org_id, "unit": unit_id}).fetchone()
        return int(row[0])

    def comments(
        self,
        org_id: int,
        unit_id: int | None,
        period: str,
        framework: str,
        *,
        k: int,
        groups: Iterable[ItemGroup],
        responses: Iterable[Responses],
        limit: int,
    ) -> list[CommentRow]:
        """The week's newest comments, only from groups of at least k.

        `groups` and `responses` are what this snapshot returned for the week:
        an audience with fewer than k respondents, and an (audience, item)
        group whose mean is suppressed, are left out in SQL, so their text is
        never read out of the database.
        """
        counts = {(r.period, r.audience): r.n for r in responses}
        open_audiences = [a for a in _AUDIENCES if counts.get((period, a), 0) >= k]
        suppressed = [
            f"{group.audience} {group.item_id}"
            for group in groups
            if group.period == period and 0 < group.n < k
        ]
        params = {
            "org": org_id,
            "unit": unit_id,
            "period": period,
            "framework": framework,
            "audiences": json.dumps(open_audiences),
            "suppressed": json.dumps(suppressed),
            "limit": limit,
        }
        return [
            CommentRow(audience, comment, tuple(json.loads(items)))
            for audience, comment, items in self._conn.execute(_COMMENTS, params)
        ]

    def actions(self, org_id: int, unit_id: int | None, since: date, until: date) -> list[Action]:
        """Open and started actions, and those done from `since` to `until`; soonest due first."""
        params = {
            "org": org_id,
            "unit": unit_id,
            "since": day_text(since),
            "until": day_text(until),
        }
        return [record(Action, row) for row in self._conn.execute(_ACTIONS, params)]


class ReportRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(self, fn: Callable[[ReportSnapshot], T]) -> T:
        """Run `fn` over one consistent snapshot of the database, in one hop.

        `fn` runs on the database thread inside one transaction, like the
        function given to `Database.run`: it reads through the snapshot and
        arranges the results, and must not touch the event loop.
        """
        return await self._db.run(lambda conn: fn(ReportSnapshot(conn)))

    async def own_respondents(self, person_id: int, window_mark: str) -> frozenset[str]:
        """The respondent ids of a person's own answers in the window `window_mark` is
        the account's mark of: theirs as a person, and the token kept after /forget."""
        rows = await self._db.fetchall(_OWN, {"person": person_id, "mark": window_mark})
        return frozenset(str(row[0]) for row in rows)

    async def export_summary(self, org_id: int | None, since: date | None) -> list[SummaryRow]:
        """Per framework item and audience: answers, people and mean score, in any order."""
        rows = await self._db.fetchall(_SUMMARY, {"org": org_id, "since": maybe_day_text(since)})
        return [record(SummaryRow, row) for row in rows]
