"""The aggregates digests and exports are made of: grouped in SQLite, handed out as typed rows.

The rows are NamedTuples: typed and immutable like the repositories'
dataclasses, and cheaper to make, which counts where a digest makes dozens.

Every digest query is bounded by (org_id, audience, answered_on) through the
`answers_by_day` index, so a window costs the same whether the database holds one
organisation or hundreds. Questions reach framework items through `question_items`, the
crosswalk captured per script version, so answers given under an old version
of a script count towards the same items as today's.

A digest reads several aggregates that must agree with each other; they are
read inside one transaction (`ReportRepo.snapshot`), so an answer committed
halfway cannot be counted by one and missed by another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import NamedTuple, TypeVar

from storage.actions import Action
from storage.connection import Connection
from storage.db import Database
from storage.errors import NotFound
from storage.orgs import Org
from storage.rows import record
from storage.sessions import Audience
from storage.times import day, day_text, maybe_day_text

T = TypeVar("T")

# Who a respondent is, as text: the token a staff member's sessions keep after /forget
# (and keep after rejoining in the same window), else the person, else the session (a
# service user, who gives feedback once a window).
_WHO = (
    "CASE WHEN s.respondent IS NOT NULL THEN 'r' || s.respondent"
    " WHEN s.person_id IS NOT NULL THEN 'p' || s.person_id ELSE 's' || s.id END"
)

# A window's scored staff answers under the lens, with the items their questions map to.
_STAFF_ANSWERS = """FROM answers a
  JOIN sessions s ON s.id = a.session_id
  JOIN question_items q
    ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
   AND q.framework = :framework
  WHERE a.org_id = :org AND a.audience = 'staff' AND a.answered_on BETWEEN :start AND :end
    AND a.score IS NOT NULL"""

# A window's staff answers as one value per respondent and item: each person's newest
# answer to each question counts once (SQLite takes the other columns from the row of
# the max()), a person's value on an item is the mean of those, and their home is the
# unit of their newest answer in the window, so they are in exactly one group.
STAFF_VALUES = f"""
WITH latest AS (
  SELECT {_WHO} AS who, q.item_id, a.score, a.unit_id,
         max(a.answered_on || printf('#%012d', a.id)) AS stamp
  {_STAFF_ANSWERS}
  GROUP BY who, a.question_id, q.item_id
),
homes AS (SELECT who, unit_id AS home, max(stamp) FROM latest GROUP BY who)
SELECT l.who, h.home, l.item_id, avg(l.score) AS value
FROM latest l JOIN homes h ON h.who = l.who
GROUP BY l.who, l.item_id
"""

# The same in PostgreSQL, which has no bare columns beside max(): each respondent's
# newest answer per question and item by DISTINCT ON, newest first (answered_on, then id,
# as the stamp above orders them), and their home from their newest of those.
_STAFF_VALUES_PG = f"""
WITH latest AS (
  SELECT DISTINCT ON (who, a.question_id, q.item_id)
         {_WHO} AS who, q.item_id, a.score, a.unit_id, a.answered_on, a.id
  {_STAFF_ANSWERS}
  ORDER BY who, a.question_id, q.item_id, a.answered_on DESC, a.id DESC
),
homes AS (
  SELECT DISTINCT ON (who) who, unit_id AS home FROM latest
  ORDER BY who, answered_on DESC, id DESC
)
SELECT l.who, h.home, l.item_id, avg(l.score) AS value
FROM latest l JOIN homes h ON h.who = l.who
GROUP BY l.who, h.home, l.item_id
"""

# Service users give one feedback a window: each session is a respondent, its value on an
# item the mean of its answers there; only each unit's count, sum and sum of squares
# leave SQLite (a quarter of the rows a per-answer read would hand to Python).
# One scan of a window's service-user answers gives both: per unit and item the count,
# sum and sum of squares of session values, and (item NULL) per unit the feedbacks with
# a scored answer. SQLite materialises the values once, for they are read twice.
FEEDBACK_STATS = """
WITH feedback AS (
  SELECT a.unit_id, a.session_id, q.item_id, avg(a.score) AS value
  FROM answers a
  JOIN question_items q
    ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
   AND q.framework = :framework
  WHERE a.org_id = :org AND a.audience = 'service_user'
    AND a.answered_on BETWEEN :start AND :end AND a.score IS NOT NULL
  GROUP BY a.session_id, q.item_id
)
SELECT unit_id, item_id, count(*) AS n, sum(value) AS total, sum(value * value) AS squares
FROM feedback GROUP BY unit_id, item_id
UNION ALL
SELECT unit_id, NULL, count(DISTINCT session_id), NULL, NULL FROM feedback GROUP BY unit_id
"""

# PostgreSQL groups by the unit too: a session's answers all carry its unit.
_FEEDBACK_STATS_PG = FEEDBACK_STATS.replace(
    "GROUP BY a.session_id, q.item_id", "GROUP BY a.session_id, q.item_id, a.unit_id"
)

# Comments of a window, newest first; which may be shown is decided with the scores.
_WINDOW_COMMENTS = """
SELECT a.audience, a.unit_id, {who} AS respondent, a.comment,
       (SELECT {json_array} FROM question_items q
         WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id
           AND q.framework = :framework) AS items,
       r.id AS route
FROM answers a JOIN sessions s ON s.id = a.session_id
LEFT JOIN reply_routes r ON r.answer_id = a.id
WHERE a.org_id = :org AND a.answered_on BETWEEN :start AND :end
  AND a.comment IS NOT NULL AND trim(a.comment) <> ''
ORDER BY a.answered_on DESC, a.id DESC
"""

# The statements whose SQL differs by backend, side by side.
_DIALECT_SQL = {
    "sqlite": {
        "staff_values": STAFF_VALUES,
        "feedback_stats": FEEDBACK_STATS,
        "window_comments": _WINDOW_COMMENTS.format(
            who=_WHO, json_array="json_group_array(q.item_id)"
        ),
    },
    "postgresql": {
        "staff_values": _STAFF_VALUES_PG,
        "feedback_stats": _FEEDBACK_STATS_PG,
        "window_comments": _WINDOW_COMMENTS.format(
            who=_WHO, json_array="coalesce(json_agg(q.item_id), '[]')::text"
        ),
    },
}

# The items some question of a live script maps to, under one framework: each script's
# live version for the organisation (its own variant, else the global one), through the
# crosswalk captured when that version was published.
_LIVE_ITEMS = """
SELECT DISTINCT q.item_id
FROM active_scripts a
JOIN question_items q ON q.script_version_id = a.script_version_id AND q.framework = :framework
WHERE a.org_id = :org
   OR (a.org_id IS NULL AND NOT EXISTS (
         SELECT 1 FROM active_scripts own WHERE own.script_id = a.script_id AND own.org_id = :org))
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
WHERE org_id = :org AND (CAST(:unit AS BIGINT) IS NULL OR unit_id = :unit)
  AND (status IN ('open', 'started') OR (status = 'done' AND done_on BETWEEN :since AND :until))
ORDER BY due_on IS NULL, due_on, id
"""

_SUMMARY = f"""
SELECT q.framework, q.item_id, a.audience, count(*) AS answers,
       count(DISTINCT {_WHO}) AS people,
       avg(a.score) AS mean, min(a.answered_on) AS first_day, max(a.answered_on) AS last_day
FROM answers a
JOIN question_items q
  ON q.script_version_id = a.script_version_id AND q.question_id = a.question_id
JOIN sessions s ON s.id = a.session_id
WHERE a.score IS NOT NULL AND (CAST(:org AS BIGINT) IS NULL OR a.org_id = :org)
  AND (CAST(:since AS TEXT) IS NULL OR a.answered_on >= :since)
GROUP BY q.framework, q.item_id, a.audience
"""


class StaffValue(NamedTuple):
    """A staff respondent's value on an item in a window, and their home unit."""

    respondent: str
    home: int | None
    item_id: str
    value: float


class GroupStats(NamedTuple):
    """Service users' values on an item in a window, for one unit: count, sum, squares."""

    unit_id: int | None
    item_id: str
    n: int
    total: float
    squares: float


class WindowComment(NamedTuple):
    """A comment of a window, with its group; shown only where its group's scores are."""

    audience: Audience
    unit_id: int | None
    respondent: str
    comment: str
    item_ids: tuple[str, ...]
    route: int | None = None  # its author's reply route, if they agreed to replies


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

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sql = _DIALECT_SQL[conn.dialect]

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

    def staff_values(self, org_id: int, framework: str, start: date, end: date) -> list[StaffValue]:
        """Staff respondents' values per item from `start` to `end` (days), under the lens."""
        return [
            StaffValue(*row)
            for row in self._conn.execute(
                self._sql["staff_values"], _window(org_id, framework, start, end)
            )
        ]

    def feedback(
        self, org_id: int, framework: str, start: date, end: date
    ) -> tuple[list[GroupStats], dict[int | None, int]]:
        """Service users' stats per unit and item, and their feedbacks per unit (None: of
        no unit) with a scored answer, in one scan."""
        stats: list[GroupStats] = []
        counts: dict[int | None, int] = {}
        params = _window(org_id, framework, start, end)
        for unit, item, n, total, squares in self._conn.execute(
            self._sql["feedback_stats"], params
        ):
            if item is None:
                counts[unit] = int(n)
            else:
                stats.append(GroupStats(unit, item, n, total, squares))
        return stats, counts

    def window_comments(
        self, org_id: int, framework: str, start: date, end: date
    ) -> list[WindowComment]:
        params = _window(org_id, framework, start, end)
        return [
            WindowComment(audience, unit_id, who, comment, tuple(json.loads(items)), route)
            for audience, unit_id, who, comment, items, route in self._conn.execute(
                self._sql["window_comments"], params
            )
        ]

    def live_items(self, org_id: int, framework: str) -> set[str]:
        """The framework's items the organisation's live scripts ask about."""
        params = {"org": org_id, "framework": framework}
        return {str(row[0]) for row in self._conn.execute(_LIVE_ITEMS, params)}

    def enrolled_staff_ids(self, org_id: int) -> list[tuple[int, int | None]]:
        """(person id, unit id) of every active staff membership."""
        return [(int(p), u) for p, u in self._conn.execute(_ENROLLED_IDS, (org_id,))]

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

    async def export_summary(self, org_id: int | None, since: date | None) -> list[SummaryRow]:
        """Per framework item and audience: answers, people and mean score, in any order."""
        rows = await self._db.fetchall(_SUMMARY, {"org": org_id, "since": maybe_day_text(since)})
        return [record(SummaryRow, row) for row in rows]


def _window(org_id: int, framework: str, start: date, end: date) -> dict[str, object]:
    return {"org": org_id, "framework": framework, "start": day_text(start), "end": day_text(end)}
