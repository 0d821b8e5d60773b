"""One digest from the stored answers: storage reads a window's rows, this arranges them.

The rows come from `storage.reports` in one snapshot (bounded by organisation and
day); `window_cells` turns each window into respondents, groups and what may be
shown; here they become the figures of one scope (the organisation or a unit), the
changes and gaps the data support, rankings, comments, the trend and the actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from bot.services.digests.comment_scrub import scrub
from bot.services.digests.digest_model import (
    AUDIENCES,
    ActionKind,
    ActionLine,
    Audience,
    Change,
    Comment,
    Comparison,
    Digest,
    Figure,
    GroupScore,
    ItemScore,
    Participation,
    Span,
    WindowScores,
)
from bot.services.digests.digest_schedule import default_period
from bot.services.digests.digest_windows import HALF_YEAR, YEAR, Window, plan_of
from bot.services.digests.disclosure import ORGANISATION, REST
from bot.services.digests.score_statistics import Difference, difference
from bot.services.digests.window_cells import (
    AudienceWindow,
    Group,
    ItemCells,
    WindowCells,
    figures,
    window_cells,
)
from bot.services.periods import local_today, parse_period, zone
from bot.services.safeguarding import Safeguarding
from bot.services.script_registry import ScriptRegistry
from frameworks import Frameworks, Item
from storage.actions import Action
from storage.db import Database
from storage.reports import ReportRepo, ReportSnapshot

DEFAULT_GAP = 0.75  # an organisation's gap threshold until it sets its own (`org set --gap`)
COMMENTS = 20
DUE_SOON = timedelta(days=14)
# Done actions are checked in digests for this long after they were done.
CHECK_WINDOW = timedelta(weeks=12)
RANKED = 3
# A change smaller than this is called steady even when the data are sure of it: on a
# 1-5 scale it is not worth a manager's attention, and with tight paired intervals a
# team's week-to-week wobble would otherwise be "up" or "down" more often than chance.
MIN_CHANGE = 0.2


class DigestError(Exception):
    """The digest cannot be made as asked (a bad week or lens); one line for the user."""


@dataclass(frozen=True)
class Viewer:
    """Who reads the digest, as the respondent ids their own answers carry.

    A group counts toward k without them. Nobody (the command line): no ids.
    """

    respondents: frozenset[str] = frozenset()

    @classmethod
    def person(cls, person_id: int | None) -> Viewer:
        return cls(frozenset() if person_id is None else frozenset({f"p{person_id}"}))


NOBODY = Viewer()


async def compute_digest(
    db: Database,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None = None,
    period: str | None = None,
    *,
    now: datetime | None = None,
    lens: str | None = None,
    gap: float | None = None,
    comments: int = COMMENTS,
    viewer: Viewer = NOBODY,
) -> Digest:
    """The digest of an organisation (or one of its units) as of one ISO week.

    Its scores are those of the newest window complete by the end of `period`
    (default: the last complete week in the organisation's time zone); `lens`
    and `gap` (the smallest staff/service-user difference called a gap) default to
    the organisation's. Raises `NotFound` for an unknown organisation
    or a unit of another organisation, `DigestError` for a bad week or lens.
    """
    moment = now or db.clock()
    if period is not None:
        try:
            parse_period(period)
        except ValueError as exc:
            raise DigestError(str(exc)) from None
    request = _Request(org_id, unit_id, period, moment, lens, gap, comments, viewer)
    digest = await ReportRepo(db).snapshot(lambda reads: _compute(reads, frameworks, request))
    # What the scope's safeguarding alerts said and nobody has followed up yet.
    alerts = Safeguarding(db, ScriptRegistry(db, frameworks))
    return replace(digest, safeguarding=await alerts.open_lines(org_id, unit_id))


async def item_score(
    db: Database,
    frameworks: Frameworks,
    org_id: int,
    unit_id: int | None,
    framework: str,
    item_id: str,
    period: str,
    viewer: Viewer = NOBODY,
) -> float | None:
    """An item's score in the window complete by `period`: staff's, else service users'.

    It is the baseline of a planned action, and its "check" later. None when neither
    is shown, or for an item no longer known.
    """
    if frameworks.item(framework, item_id) is None:
        return None

    def score(reads: ReportSnapshot) -> float | None:
        org = reads.org(org_id)
        reads.unit_name(org_id, unit_id)
        plan = plan_of(reads.window_segments(org_id))
        window = plan.released(period)
        scores = _Windows(reads, org_id, framework, viewer.respondents, org.k_threshold)
        return scores.headline(window, _scope(unit_id), item_id)

    return await ReportRepo(db).snapshot(score)


@dataclass(frozen=True)
class _Request:
    org_id: int
    unit_id: int | None
    period: str | None
    now: datetime
    lens: str | None
    gap: float | None  # None: the organisation's
    comments: int
    viewer: Viewer


def _scope(unit_id: int | None) -> Group:
    return ORGANISATION if unit_id is None else unit_id


@dataclass
class _Windows:
    """Windows of one organisation under one lens, read once and cut once per window."""

    reads: ReportSnapshot
    org_id: int
    framework: str
    own: frozenset[str]
    k: int
    _cells: dict[Window, WindowCells] = field(default_factory=dict)
    _enrolled: dict[Group, set[str]] | None = None
    # A digest asks for the same window's figures many times: rows, changes, rankings.
    _populations: dict[Window, dict[Group, int]] = field(default_factory=dict)
    _figures: dict[tuple[Window, Audience, str], dict[Group, Figure]] = field(default_factory=dict)

    def cells(self, window: Window) -> WindowCells:
        """The window's cells, read in two index range scans the first time."""
        if window not in self._cells:
            reads, org, lens = self.reads, self.org_id, self.framework
            stats, counts = reads.feedback(org, lens, window.start, window.end)
            staff = reads.staff_values(org, lens, window.start, window.end)
            self._cells[window] = window_cells(staff, stats, counts, self.own, self.k)
        return self._cells[window]

    def populations(self, window: Window) -> dict[Group, int]:
        """Staff who could have answered, per group: active now, or answered in the window."""
        if window not in self._populations:
            self._populations[window] = self._count_populations(window)
        return self._populations[window]

    def _count_populations(self, window: Window) -> dict[Group, int]:
        if self._enrolled is None:
            self._enrolled = {ORGANISATION: set()}
            for person_id, unit_id in self.reads.enrolled_staff_ids(self.org_id):
                who = f"p{person_id}"
                self._enrolled.setdefault(REST if unit_id is None else unit_id, set()).add(who)
                self._enrolled[ORGANISATION].add(who)
        staff = self.cells(window).audiences["staff"]
        groups: dict[Group, set[str]] = {g: set(people) for g, people in self._enrolled.items()}
        for who, group in staff.group_of.items():
            groups.setdefault(group, set()).add(who)
            groups[ORGANISATION].add(who)
        return {group: len(people) for group, people in groups.items()}

    def figures(self, window: Window, audience: Audience, item_id: str) -> dict[Group, Figure]:
        key = (window, audience, item_id)
        if key not in self._figures:
            cells = self.cells(window).item(audience, item_id)
            staff = audience == "staff"
            self._figures[key] = (
                {} if cells is None else figures(cells, self.populations(window) if staff else None)
            )
        return self._figures[key]

    def figure(
        self, window: Window, audience: Audience, item_id: str, scope: Group
    ) -> Figure | None:
        return self.figures(window, audience, item_id).get(scope)

    def headline(self, window: Window, scope: Group, item_id: str) -> float | None:
        for audience in AUDIENCES:
            figure = self.figure(window, audience, item_id, scope)
            if figure is not None:
                return round(figure.mean, 2)
        return None

    def change(
        self, now: Window, then: Window, audience: Audience, item_id: str, scope: Group
    ) -> Change | None:
        """`now` against `then` for one scope, when both are shown."""
        if self.figure(now, audience, item_id, scope) is None:
            return None
        if self.figure(then, audience, item_id, scope) is None:
            return None
        a = self.cells(now).item(audience, item_id)
        b = self.cells(then).item(audience, item_id)
        assert a is not None and b is not None  # both have figures
        return _change(a, b, scope, MIN_CHANGE)


def _change(a: ItemCells, b: ItemCells, scope: Group, at_least: float) -> Change | None:
    first, second = a.estimate(scope), b.estimate(scope)
    if first is None or second is None:
        return None
    both = set(a.members(scope)) & set(b.members(scope))
    pairs = [(a.values[who], b.values[who]) for who in sorted(both)]
    return _as_change(difference(first, second, pairs, at_least))


def _as_change(found: Difference) -> Change:
    half = None if found.half_width is None else round(found.half_width, 3)
    return Change(round(found.value, 3), half, found.real)


def _compute(reads: ReportSnapshot, frameworks: Frameworks, request: _Request) -> Digest:
    org = reads.org(request.org_id)
    unit_name = reads.unit_name(request.org_id, request.unit_id)
    lens_id = request.lens or org.lens
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
    week = request.period or default_period(request.now, timezone)
    week_end = parse_period(week)[1]  # actions are as they stood then; scores as of a window
    plan = plan_of(reads.window_segments(request.org_id))
    window = plan.released(week)
    previous = plan.before(window)
    trend = plan.trend(window)
    backs: tuple[tuple[Literal["half_year", "year"], int], ...] = (
        ("half_year", HALF_YEAR),
        ("year", YEAR),
    )
    further = [
        (label, back)
        for label, weeks in backs
        if (back := plan.back_by(window, weeks)) is not None and back < previous
    ]
    k = org.k_threshold
    gap = org.gap_threshold if request.gap is None else request.gap
    scope = _scope(request.unit_id)
    items = sorted(framework.items.values(), key=lambda i: i.number)
    ids = [item.id for item in items]

    windows = _Windows(reads, request.org_id, lens_id, request.viewer.respondents, k)
    coverage = _coverage(windows, [*trend, *(back for _label, back in further)], ids)
    live = reads.live_items(request.org_id, lens_id)

    scores = tuple(
        _item_score(windows, (window, previous), item, scope, coverage, gap) for item in items
    )
    strongest, weakest = _rank(scores)
    gaps = sorted(
        (i for i in scores if i.flagged_gap),
        key=lambda i: (-abs(i.gap.value if i.gap else 0), i.number),
    )
    today = local_today(request.now, timezone)
    after = plan.window_of(window.end + timedelta(days=1))
    return Digest(
        org_id=request.org_id,
        org_name=org.name,
        is_demo=org.is_demo,
        unit_id=request.unit_id,
        unit_name=unit_name,
        period=week,
        window=_span(window),
        previous_window=_span(previous),
        next_scores=after.end + timedelta(days=1),
        lens=lens_id,
        k=k,
        gap_threshold=gap,
        participation=_participation(windows, window, scope),
        previous_participation=_participation(windows, previous, scope),
        items=scores,
        coverage={a: tuple(i for i in ids if i in coverage[a]) for a in AUDIENCES},
        gaps=tuple(i.item_id for i in gaps),
        strongest=strongest,
        weakest=weakest,
        comments=_comments(reads, windows, window, scope, lens_id, request.comments),
        actions=_actions(
            windows,
            frameworks,
            reads.actions(request.org_id, request.unit_id, week_end - CHECK_WINDOW, week_end),
            window,
            today,
            lens_id,
        ),
        trend=tuple(_trend_point(windows, w, ids, scope) for w in trend),
        comparisons=tuple(
            Comparison(
                label,
                _span(back),
                tuple(windows.change(window, back, "staff", i, scope) for i in ids),
                tuple(windows.change(window, back, "service_user", i, scope) for i in ids),
            )
            for label, back in further
        ),
        generated_at=request.now,
        not_assessed=tuple(i for i in ids if i not in live),
    )


def _span(window: Window) -> Span:
    return Span(window.start, window.end, window.first_week, window.last_week, window.weeks)


def _coverage(
    windows: _Windows, spans: Iterable[Window], ids: Sequence[str]
) -> dict[Audience, set[str]]:
    """The items each audience answered on in any window read: what it is asked about."""
    found: dict[Audience, set[str]] = {a: set() for a in AUDIENCES}
    for window in spans:
        for audience, cells in windows.cells(window).audiences.items():
            found[audience].update(i for i in cells.items if i in ids)
    return found


def _item_score(
    windows: _Windows,
    pair: tuple[Window, Window],
    item: Item,
    scope: Group,
    coverage: Mapping[Audience, set[str]],
    gap: float,
) -> ItemScore:
    window, previous = pair
    item_id = item.id
    groups = {
        audience: _group_score(windows, window, previous, audience, item_id, scope, coverage)
        for audience in AUDIENCES
    }
    difference_found = None
    staff, users = groups["staff"], groups["service_user"]
    if staff.shown and users.shown:
        a = windows.cells(window).item("staff", item_id)
        b = windows.cells(window).item("service_user", item_id)
        assert a is not None and b is not None
        difference_found = _change(a, b, scope, gap)
    return ItemScore(item.framework, item_id, item.number, staff, users, difference_found)


def _group_score(
    windows: _Windows,
    window: Window,
    previous: Window,
    audience: Audience,
    item_id: str,
    scope: Group,
    coverage: Mapping[Audience, set[str]],
) -> GroupScore:
    if item_id not in coverage[audience]:
        return GroupScore("not_asked")
    cells = windows.cells(window).item(audience, item_id)
    if cells is None:
        return GroupScore("none")
    status = cells.status_of(scope, windows.k)
    figure = windows.figure(window, audience, item_id, scope)
    if figure is None:
        return GroupScore(status)
    return GroupScore(
        "shown",
        figure,
        windows.figure(previous, audience, item_id, scope),
        windows.change(window, previous, audience, item_id, scope),
    )


def _rank(
    scores: Sequence[ItemScore],
) -> tuple[dict[Audience, tuple[str, ...]], dict[Audience, tuple[str, ...]]]:
    """Per audience, the strongest and weakest items by the figures the digest shows."""
    strongest: dict[Audience, tuple[str, ...]] = {}
    weakest: dict[Audience, tuple[str, ...]] = {}
    for audience in AUDIENCES:
        shown = [(i.of(audience).mean, i.number, i.item_id) for i in scores if i.of(audience).shown]
        low_count = min(RANKED, len(shown) // 2)
        high_count = min(RANKED, len(shown) - low_count)
        high = sorted(shown, key=lambda s: (-(s[0] or 0), s[1]))[:high_count]
        low = sorted((s for s in shown if s not in high), key=lambda s: (s[0] or 0, s[1]))
        strongest[audience] = tuple(s[2] for s in high)
        weakest[audience] = tuple(s[2] for s in low[:low_count])
    return strongest, weakest


def _participation(windows: _Windows, window: Window, scope: Group) -> Participation:
    audiences = windows.cells(window).audiences
    staff, users = audiences["staff"], audiences["service_user"]
    return Participation(
        staff=_count(staff, scope),
        staff_enrolled=windows.populations(window).get(scope, 0),
        service_users=_count(users, scope),
    )


def _count(audience: AudienceWindow, scope: Group) -> int | None:
    """How many answered, when released; nobody at all is said as 0, which gives no one away."""
    count = audience.counts.get(scope, 0)
    return count if count == 0 or scope in audience.counts_shown else None


def _trend_point(
    windows: _Windows, window: Window, ids: Sequence[str], scope: Group
) -> WindowScores:
    return WindowScores(
        _span(window),
        tuple(windows.figure(window, "staff", i, scope) for i in ids),
        tuple(windows.figure(window, "service_user", i, scope) for i in ids),
    )


def _comments(
    reads: ReportSnapshot,
    windows: _Windows,
    window: Window,
    scope: Group,
    lens: str,
    limit: int,
) -> tuple[Comment, ...]:
    """The window's newest comments whose own group is shown, wherever they are read.

    A comment's group is its writer's unit (or REST) on each of its items, or on the
    whole feedback for one about no item: with k others there, it may appear in both
    the unit's and the organisation's digests; with fewer, in neither, so comparing
    the two cannot tell which small group wrote it.
    """
    cells = windows.cells(window)
    kept: list[Comment] = []
    for row in reads.window_comments(windows.org_id, lens, window.start, window.end):
        audience = cells.audiences[row.audience]
        group = audience.group_of.get(row.respondent, REST if row.unit_id is None else row.unit_id)
        if scope != ORGANISATION and group != scope:
            continue
        if not _releasable(cells, row.audience, group, row.item_ids, windows.k):
            continue
        text = scrub(row.comment)
        if text:
            kept.append(Comment(row.audience, text, row.item_ids, row.route))
        if len(kept) >= limit:
            break
    return tuple(kept)


def _releasable(
    cells: WindowCells, audience: Audience, group: Group, item_ids: Sequence[str], k: int
) -> bool:
    """Does the comment's own group, on each of its items, hold k people besides the reader?

    Figures may be withheld from a group of k to protect a smaller one; its words
    may still be read, for they come from k people either way.
    """
    side = cells.audiences[audience]
    whole = side.others.get(group, 0) >= k
    for item_id in item_ids:
        item = cells.item(audience, item_id)
        if item is None:
            # No one of the audience scores this item (an open question's own item):
            # the group is the whole feedback's, as for a comment about no item.
            if not whole:
                return False
            continue
        found = item.others.get(group)
        if found is None or found.n < k:
            return False
    return whole if not item_ids else True


def _actions(
    windows: _Windows,
    frameworks: Frameworks,
    actions: Iterable[Action],
    window: Window,
    today: date,
    lens: str,
) -> tuple[ActionLine, ...]:
    others: dict[str, _Windows] = {lens: windows}
    lines = []
    for action in actions:
        due = action.due_on
        now_score = None
        kind: ActionKind
        if action.status == "done":
            kind = "done"
            if action.framework in frameworks:
                if action.framework not in others:
                    others[action.framework] = _Windows(
                        windows.reads, windows.org_id, action.framework, windows.own, windows.k
                    )
                now_score = others[action.framework].headline(
                    window, _scope(action.unit_id), action.item_id
                )
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
