"""One digest from the stored aggregates: storage groups the answers, Python arranges them.

The aggregates come from `storage.reports` (bounded by organisation and week,
read in one transaction); here they become item scores, ranks, gaps and the
action list, with every mean below k left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from bot.services.digests.comment_scrub import scrub
from bot.services.digests.digest_model import (
    ActionKind,
    ActionLine,
    Comment,
    Digest,
    GroupScore,
    ItemScore,
)
from bot.services.digests.digest_schedule import default_period
from bot.services.periods import local_today, parse_period, previous_period, zone
from frameworks import Frameworks, Item
from storage.actions import Action
from storage.db import Database
from storage.reports import ItemGroup, ReportRepo, ReportSnapshot

DEFAULT_GAP = 0.75
COMMENTS = 20
DUE_SOON = timedelta(days=14)
# Done actions are checked in digests for this long after they were done.
CHECK_WINDOW = timedelta(weeks=12)


class DigestError(Exception):
    """The digest cannot be made as asked (a bad week or lens); one line for the user."""


_NONE = ItemGroup("", "", "staff", 0, 0, None)  # a group nobody answered in
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
    return await ReportRepo(db).snapshot(
        lambda reads: _compute(
            reads, frameworks, org_id, unit_id, period, moment, lens, gap, comments
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

    def score(reads: ReportSnapshot) -> float | None:
        org = reads.org(org_id)
        groups = _groups(reads.item_groups(org_id, unit_id, framework, period, previous))
        return _item(item, groups, period, previous, org.k_threshold).score

    return await ReportRepo(db).snapshot(score)


def _compute(
    reads: ReportSnapshot,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    period: str | None,
    now: datetime,
    lens: str | None,
    gap: float,
    comment_limit: int,
) -> Digest:
    org = reads.org(org_id)
    unit_name = reads.unit_name(org_id, unit_id)
    lens_id = lens or org.lens
    try:
        framework = frameworks.get(lens_id)
    except KeyError:
        raise DigestError(
            f"unknown lens {lens_id!r}; known: {', '.join(frameworks.ids())}"
        ) from None
    try:
        timezone = zone(org.timezone).key
    except ValueError as exc:
        raise DigestError(str(exc)) from None
    week = period or default_period(now, timezone)
    start, end = parse_period(week)
    previous = previous_period(week)
    k = org.k_threshold
    today = local_today(now, timezone)

    group_rows = reads.item_groups(org_id, unit_id, lens_id, week, previous)
    groups = _groups(group_rows)
    items = tuple(
        _item(item, groups, week, previous, k)
        for item in sorted(framework.items.values(), key=lambda i: i.number)
    )
    response_rows = reads.responses(org_id, unit_id, week, previous)
    responses = {(r.period, r.audience): r.n for r in response_rows}
    enrolled = reads.enrolled_staff(org_id, unit_id)
    comments = tuple(
        Comment(audience=row.audience, text=scrub(row.comment), item_ids=row.item_ids)
        for row in reads.comments(
            org_id,
            unit_id,
            week,
            lens_id,
            k=k,
            groups=group_rows,
            responses=response_rows,
            limit=comment_limit,
        )
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

    actions = reads.actions(org_id, unit_id, end - CHECK_WINDOW, end)
    return Digest(
        org_id=org_id,
        org_name=org.name,
        is_demo=org.is_demo,
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
        staff_enrolled=enrolled,
        service_user_responses=responses.get((week, "service_user"), 0),
        previous_staff_answered=responses.get((previous, "staff"), 0),
        previous_service_user_responses=responses.get((previous, "service_user"), 0),
        items=items,
        gaps=tuple(i.item_id for i in gaps),
        strongest=tuple(i.item_id for i in strongest),
        weakest=tuple(i.item_id for i in weakest),
        comments=comments,
        actions=_actions(
            reads, frameworks, actions, org_id, unit_id, week, today, k, lens_id, items
        ),
        generated_at=now,
    )


def _groups(rows: Iterable[ItemGroup]) -> dict[_GroupKey, ItemGroup]:
    return {(g.period, g.item_id, g.audience): g for g in rows}


def _item(
    item: Item, groups: dict[_GroupKey, ItemGroup], period: str, previous: str, k: int
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
    groups: dict[_GroupKey, ItemGroup],
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
    reads: ReportSnapshot,
    frameworks: Frameworks,
    actions: Iterable[Action],
    org_id: int,
    unit_id: int | None,
    period: str,
    today: date,
    k: int,
    lens: str,
    items: Iterable[ItemScore],
) -> tuple[ActionLine, ...]:
    in_scope = {(lens, unit_id): {i.item_id: i.score for i in items}}
    lines = []
    for action in actions:
        due = action.due_on
        now_score = None
        kind: ActionKind
        if action.status == "done":
            kind = "done"
            key = (action.framework, action.unit_id)
            if key not in in_scope:
                in_scope[key] = _scores(
                    reads, frameworks, org_id, action.unit_id, key[0], period, k
                )
            now_score = in_scope[key].get(action.item_id)
        elif due is not None and due < today:
            kind = "overdue"
        elif due is not None and due <= today + DUE_SOON:
            kind = "due_soon"
        else:
            kind = "open"
        lines.append(
            ActionLine(
                id=action.id,
                kind=kind,
                title=action.title,
                owner=action.owner,
                status=action.status,
                framework=action.framework,
                item_id=action.item_id,
                unit_id=action.unit_id,
                due_on=due,
                done_on=action.done_on,
                baseline=action.baseline,
                now=now_score,
            )
        )
    order = {"overdue": 0, "due_soon": 1, "open": 2, "done": 3}
    return tuple(sorted(lines, key=lambda a: order[a.kind]))


def _scores(
    reads: ReportSnapshot,
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
    groups = _groups(reads.item_groups(org_id, unit_id, framework_id, period, previous))
    return {
        item.id: _item(item, groups, period, previous, k).score for item in framework.items.values()
    }
