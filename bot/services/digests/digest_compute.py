"""One digest from the stored answers: SQLite aggregates, Python only arranges the results.

Every query is bounded by (org_id, period) through the `answers_digest` index,
so a digest costs the same whether the database holds one organisation or
hundreds. Questions reach framework items through `question_items`, the
crosswalk captured per script version, so answers given under an old version
of a script count towards the same items as today's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.services.digests.comment_scrub import scrub
from bot.services.digests.digest_model import (
    ActionLine,
    Audience,
    Comment,
    Digest,
    GroupScore,
    ItemScore,
)
from bot.services.digests.digest_schedule import default_period
from bot.services.periods import local_today, parse_period, previous_period, zone
from frameworks import Frameworks, Item
from storage.db import Database
from storage.errors import NotFound
from storage.times import day_text, maybe_day

DEFAULT_GAP = 0.75
COMMENTS = 20
DUE_SOON = timedelta(days=14)
# Done actions are checked in digests for this long after they were done.
CHECK_WINDOW = timedelta(weeks=12)
AUDIENCES: tuple[Audience, Audience] = ("staff", "service_user")

# A respondent: a staff member by person (several sessions in a week are still one
# person), a service user by session. Person ids are positive, so -session id never clashes.
_RESPONDENT = "CASE WHEN s.person_id IS NULL THEN -s.id ELSE s.person_id END"

_ITEM_GROUPS = f"""
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

_ACTIONS = """
SELECT id, unit_id, framework, item_id, title, owner, due_on, status, baseline, done_on
FROM actions
WHERE org_id = :org AND (:unit IS NULL OR unit_id = :unit)
  AND (status IN ('open', 'started') OR (status = 'done' AND done_on BETWEEN :since AND :end))
ORDER BY due_on IS NULL, due_on, id
"""


class DigestError(Exception):
    """The digest cannot be made as asked (a bad week or lens); one line for the user."""


@dataclass(frozen=True)
class _Group:
    n: int
    answers: int
    mean: float | None


_NONE = _Group(0, 0, None)
_GroupKey = tuple[str, str, str]  # (period, item id, audience)


async def compute_digest(
    db: Database,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None = None,
    period: str | None = None,
    *,
    now: datetime | None = None,
    lens: str | None = None,
    gap: float = DEFAULT_GAP,
    comments: int = COMMENTS,
) -> Digest:
    """The digest of an organisation (or one of its units) for one ISO week.

    `period` defaults to the last complete week in the organisation's time zone;
    `lens` to the organisation's. Raises `NotFound` for an unknown organisation or
    a unit of another organisation, `DigestError` for a bad week or lens.
    """
    moment = now or db.clock()
    if period is not None:
        try:
            parse_period(period)
        except ValueError as exc:
            raise DigestError(str(exc)) from None
    return await db.run(
        lambda conn: _compute(
            conn, frameworks, org_id, unit_id, period, moment, lens, gap, comments
        )
    )


async def item_score(
    db: Database,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    framework: str,
    item_id: str,
    period: str,
) -> float | None:
    """One item's score in one week (None below k, or for an item no longer known).

    It is the baseline of a planned action, and its "check" later.
    """
    item = frameworks.item(framework, item_id)
    if item is None:
        return None
    previous = previous_period(period)

    def score(conn: sqlite3.Connection) -> float | None:
        org = _org(conn, org_id)
        groups = _groups(conn, org_id, unit_id, framework, period, previous)
        return _item(item, groups, period, previous, org["k_threshold"]).score

    return await db.run(score)


def _compute(
    conn: sqlite3.Connection,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    period: str | None,
    now: datetime,
    lens: str | None,
    gap: float,
    comment_limit: int,
) -> Digest:
    org = _org(conn, org_id)
    unit_name = _unit_name(conn, org_id, unit_id)
    lens_id = lens or org["lens"]
    try:
        framework = frameworks.get(lens_id)
    except KeyError:
        raise DigestError(
            f"unknown lens {lens_id!r}; known: {', '.join(frameworks.ids())}"
        ) from None
    try:
        timezone = zone(org["timezone"]).key
    except ValueError as exc:
        raise DigestError(str(exc)) from None
    week = period or default_period(now, timezone)
    start, end = parse_period(week)
    previous = previous_period(week)
    k = int(org["k_threshold"])
    today = local_today(now, timezone)

    groups = _groups(conn, org_id, unit_id, lens_id, week, previous)
    items = tuple(
        _item(item, groups, week, previous, k)
        for item in sorted(framework.items.values(), key=lambda i: i.number)
    )
    responses = _responses(conn, org_id, unit_id, week, previous)
    enrolled = conn.execute(_ENROLLED, {"org": org_id, "unit": unit_id}).fetchone()[0]

    open_audiences = [a for a in AUDIENCES if responses.get((week, a), 0) >= k]
    suppressed = [
        f"{audience} {item_id}"
        for (p, item_id, audience), group in groups.items()
        if p == week and 0 < group.n < k
    ]
    filters = {
        "org": org_id,
        "unit": unit_id,
        "period": week,
        "framework": lens_id,
        "audiences": json.dumps(open_audiences),
        "suppressed": json.dumps(suppressed),
    }
    comments = tuple(
        Comment(
            audience=row["audience"],
            text=scrub(row["comment"]),
            item_ids=tuple(json.loads(row["items"])),
        )
        for row in conn.execute(_COMMENTS, {**filters, "limit": comment_limit})
    )

    ranked = [i for i in items if i.score is not None]
    weakest_count = min(3, len(ranked) // 2)
    strongest_count = min(3, len(ranked) - weakest_count)
    strongest = sorted(ranked, key=lambda i: (-(i.score or 0), i.number))[:strongest_count]
    weakest = sorted(
        (i for i in ranked if i not in strongest), key=lambda i: (i.score or 0, i.number)
    )[:weakest_count]
    gaps = sorted(
        (i for i in items if i.gap is not None and i.gap >= gap - 1e-9),
        key=lambda i: (-(i.gap or 0), i.number),
    )

    return Digest(
        org_id=org_id,
        org_name=org["name"],
        is_demo=bool(org["is_demo"]),
        unit_id=unit_id,
        unit_name=unit_name,
        period=week,
        previous_period=previous,
        start=start,
        end=end,
        lens=lens_id,
        k=k,
        gap_threshold=gap,
        staff_answered=responses.get((week, "staff"), 0),
        staff_enrolled=int(enrolled),
        service_user_responses=responses.get((week, "service_user"), 0),
        previous_staff_answered=responses.get((previous, "staff"), 0),
        previous_service_user_responses=responses.get((previous, "service_user"), 0),
        items=items,
        gaps=tuple(i.item_id for i in gaps),
        strongest=tuple(i.item_id for i in strongest),
        weakest=tuple(i.item_id for i in weakest),
        comments=comments,
        actions=_actions(conn, frameworks, org_id, unit_id, week, end, today, k, lens_id, items),
        generated_at=now,
    )


def _org(conn: sqlite3.Connection, org_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM organisations WHERE id = ?", (org_id,)).fetchone()
    if row is None:
        raise NotFound(f"there is no organisation {org_id}")
    return row


def _unit_name(conn: sqlite3.Connection, org_id: int, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    row = conn.execute(
        "SELECT name FROM units WHERE id = ? AND org_id = ?", (unit_id, org_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"organisation {org_id} has no unit {unit_id}")
    return str(row["name"])


def _groups(
    conn: sqlite3.Connection,
    org_id: int,
    unit_id: int | None,
    framework: str,
    period: str,
    previous: str,
) -> dict[_GroupKey, _Group]:
    params = {
        "org": org_id,
        "unit": unit_id,
        "framework": framework,
        "period": period,
        "previous": previous,
    }
    return {
        (row["period"], row["item_id"], row["audience"]): _Group(
            row["n"], row["answers"], row["mean"]
        )
        for row in conn.execute(_ITEM_GROUPS, params)
    }


def _responses(
    conn: sqlite3.Connection, org_id: int, unit_id: int | None, period: str, previous: str
) -> dict[tuple[str, str], int]:
    params = {"org": org_id, "unit": unit_id, "period": period, "previous": previous}
    return {
        (row["period"], row["audience"]): int(row["n"]) for row in conn.execute(_RESPONSES, params)
    }


def _item(
    item: Item, groups: dict[_GroupKey, _Group], period: str, previous: str, k: int
) -> ItemScore:
    staff = _group_score(groups, period, previous, item.id, "staff", k)
    users = _group_score(groups, period, previous, item.id, "service_user", k)
    shown = [g.mean for g in (staff, users) if g.mean is not None]
    score = round(sum(shown) / len(shown), 2) if shown else None
    gap = None
    if staff.mean is not None and users.mean is not None:
        gap = round(staff.mean - users.mean, 2)
    return ItemScore(item.framework, item.id, item.number, staff, users, score, gap)


def _group_score(
    groups: dict[_GroupKey, _Group],
    period: str,
    previous: str,
    item_id: str,
    audience: str,
    k: int,
) -> GroupScore:
    now = groups.get((period, item_id, audience), _NONE)
    before = groups.get((previous, item_id, audience), _NONE)
    mean = round(now.mean, 2) if now.n >= k and now.mean is not None else None
    earlier = round(before.mean, 2) if before.n >= k and before.mean is not None else None
    delta = round(mean - earlier, 2) if mean is not None and earlier is not None else None
    return GroupScore(
        n=now.n,
        answers=now.answers,
        mean=mean,
        suppressed=0 < now.n < k,
        previous_mean=earlier,
        delta=delta,
    )


def _actions(
    conn: sqlite3.Connection,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    period: str,
    end: date,
    today: date,
    k: int,
    lens: str,
    items: Iterable[ItemScore],
) -> tuple[ActionLine, ...]:
    rows = conn.execute(
        _ACTIONS,
        {
            "org": org_id,
            "unit": unit_id,
            "since": day_text(end - CHECK_WINDOW),
            "end": day_text(end),
        },
    ).fetchall()
    in_scope = {(lens, unit_id): {i.item_id: i.score for i in items}}
    lines = []
    for row in rows:
        due = maybe_day(row["due_on"])
        now_score = None
        if row["status"] == "done":
            kind = "done"
            key = (row["framework"], row["unit_id"])
            if key not in in_scope:
                in_scope[key] = _scores(conn, frameworks, org_id, row["unit_id"], key[0], period, k)
            now_score = in_scope[key].get(row["item_id"])
        elif due is not None and due < today:
            kind = "overdue"
        elif due is not None and due <= today + DUE_SOON:
            kind = "due_soon"
        else:
            kind = "open"
        lines.append(
            ActionLine(
                id=row["id"],
                kind=kind,
                title=row["title"],
                owner=row["owner"],
                status=row["status"],
                framework=row["framework"],
                item_id=row["item_id"],
                unit_id=row["unit_id"],
                due_on=due,
                done_on=maybe_day(row["done_on"]),
                baseline=row["baseline"],
                now=now_score,
            )
        )
    order = {"overdue": 0, "due_soon": 1, "open": 2, "done": 3}
    return tuple(sorted(lines, key=lambda a: order[a.kind]))


def _scores(
    conn: sqlite3.Connection,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    framework_id: str,
    period: str,
    k: int,
) -> dict[str, float | None]:
    """Scores of every item of a framework in a scope other than the digest's own."""
    if framework_id not in frameworks:
        return {}
    framework = frameworks.get(framework_id)
    previous = previous_period(period)
    groups = _groups(conn, org_id, unit_id, framework_id, period, previous)
    return {
        item.id: _item(item, groups, period, previous, k).score for item in framework.items.values()
    }
