"""One window's answers as respondents, groups and released figures: pure, no I/O.

Who counts, and how, is decided here and nowhere else:
- a respondent is a staff member (by person, or by the token their sessions keep
  after /forget) or one service-user feedback (service users give one a window);
- a staff member's newest answer to each question in the window counts once, and
  their answers on an item make one value, their mean;
- a respondent belongs to the unit of their newest answer in the window (staff of no
  unit form the REST group, which is never shown on its own);
- a group counts toward k without the reader's own answers (`own`), so a manager who
  answered cannot subtract themselves from a group of k;
- what is shown of each item, and of the counts, is `disclosure.decide`d over the
  organisation and all its units at once, whichever scope the digest is for.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.services.digests.digest_model import Audience, Figure, Status
from bot.services.digests.disclosure import ORGANISATION, REST, Cell, decide
from bot.services.digests.score_statistics import Estimate, from_sums, shrink
from storage.reports import GroupStats, StaffValue

Group = object  # a unit id, REST or ORGANISATION


@dataclass(frozen=True)
class Stats:
    """A group's values on an item: how many, their sum and their sum of squares."""

    n: int
    total: float
    squares: float

    def plus(self, other: Stats) -> Stats:
        return Stats(self.n + other.n, self.total + other.total, self.squares + other.squares)


_EMPTY = Stats(0, 0.0, 0.0)


@dataclass(frozen=True)
class ItemCells:
    """One item and audience in one window: each group's values and what is shown."""

    stats: dict[Group, Stats]  # every group and the organisation, everyone counted
    others: dict[Group, Cell]  # the same without the reader's own answers
    shown: frozenset[Group]
    values: dict[str, float]  # staff only: respondent -> their value (for paired changes)
    group_of: Mapping[str, Group]

    def members(self, group: Group) -> list[str]:
        if group == ORGANISATION:
            return list(self.values)
        return [who for who in self.values if self.group_of[who] == group]

    def estimate(self, group: Group, population: int | None = None) -> Estimate | None:
        found = self.stats.get(group, _EMPTY)
        if found.n == 0:
            return None
        return from_sums(found.n, found.total, found.squares, population)

    def status_of(self, group: Group, k: int) -> Status:
        if group in self.shown:
            return "shown"
        if self.stats.get(group, _EMPTY).n == 0:
            return "none"
        cell = self.others.get(group)
        return "few" if cell is None or cell.n < k else "withheld"


@dataclass(frozen=True)
class AudienceWindow:
    """One audience in one window: its items, and how many answered in each group."""

    items: dict[str, ItemCells]
    group_of: dict[str, Group]  # staff only
    counts: dict[Group, int]  # respondents per group and for the organisation (everyone)
    others: dict[Group, int]  # the same without the reader
    counts_shown: frozenset[Group]


@dataclass(frozen=True)
class WindowCells:
    audiences: dict[Audience, AudienceWindow]

    def item(self, audience: Audience, item_id: str) -> ItemCells | None:
        return self.audiences[audience].items.get(item_id)


def window_cells(
    staff: Iterable[StaffValue],
    feedback: Iterable[GroupStats],
    feedback_counts: Mapping[int | None, int],
    own: frozenset[str],
    k: int,
) -> WindowCells:
    """The window's cells under the reader's `own` respondent ids (empty: a reader who
    never answered, such as the command line). Service users are anonymous, so none
    of their feedback is ever the reader's own."""
    return WindowCells(
        {"staff": _staff(staff, own, k), "service_user": _feedback(feedback, feedback_counts, k)}
    )


def _staff(rows: Iterable[StaffValue], own: frozenset[str], k: int) -> AudienceWindow:
    group_of: dict[str, Group] = {}
    by_item: dict[str, dict[str, float]] = defaultdict(dict)
    for who, home, item_id, value in rows:
        group_of[who] = REST if home is None else home
        by_item[item_id][who] = value
    items = {}
    for item_id, values in by_item.items():
        stats: dict[Group, Stats] = {}
        others: dict[Group, list[float]] = defaultdict(list)
        for who, value in values.items():
            group = group_of[who]
            one = Stats(1, value, value * value)
            stats[group] = stats.get(group, _EMPTY).plus(one)
            stats[ORGANISATION] = stats.get(ORGANISATION, _EMPTY).plus(one)
            if who not in own:
                others[group].append(value)
                others[ORGANISATION].append(value)
        cells = {g: Cell(g, len(v), math.fsum(v)) for g, v in others.items()}
        items[item_id] = ItemCells(stats, cells, decide(cells, k), values, group_of)
    counts: dict[Group, int] = defaultdict(int)
    others_counts: dict[Group, int] = defaultdict(int)
    for who, group in group_of.items():
        counts[group] += 1
        if who not in own:
            others_counts[group] += 1
    counts[ORGANISATION] = len(group_of)
    others_counts[ORGANISATION] = len(group_of) - len(own & group_of.keys())
    shown = _counts_shown(others_counts, k)
    return AudienceWindow(items, group_of, dict(counts), dict(others_counts), shown)


def _feedback(
    rows: Iterable[GroupStats], feedback_counts: Mapping[int | None, int], k: int
) -> AudienceWindow:
    by_item: dict[str, dict[Group, Stats]] = defaultdict(dict)
    for unit_id, item_id, n, total, squares in rows:
        group: Group = REST if unit_id is None else unit_id
        stats = by_item[item_id]
        stats[group] = Stats(n, total, squares)
        stats[ORGANISATION] = stats.get(ORGANISATION, _EMPTY).plus(stats[group])
    items = {}
    for item_id, stats in by_item.items():
        cells = {g: Cell(g, s.n, s.total) for g, s in stats.items()}
        items[item_id] = ItemCells(stats, cells, decide(cells, k), {}, {})
    counts: dict[Group, int] = {
        (REST if unit is None else unit): n for unit, n in feedback_counts.items()
    }
    counts[ORGANISATION] = sum(counts.values())
    return AudienceWindow(items, {}, counts, counts, _counts_shown(counts, k))


def _counts_shown(counts: Mapping[Group, int], k: int) -> frozenset[Group]:
    cells = {g: Cell(g, n, 0.0) for g, n in counts.items()}
    return decide(cells, k, means=False)


def figures(
    cells: ItemCells, populations: Mapping[Group, int] | None = None
) -> dict[Group, Figure]:
    """The shown groups' figures; shown units lean on the organisation's when it is shown.

    The between-unit spread is learnt from the shown units only, so a hidden unit's
    answers move no released figure.
    """
    pops = populations or {}
    shown: dict[Group, Figure] = {}
    organisation = (
        cells.estimate(ORGANISATION, pops.get(ORGANISATION))
        if ORGANISATION in cells.shown
        else None
    )
    if organisation is not None:
        shown[ORGANISATION] = Figure(organisation.n, organisation.mean, organisation.half_width)
    units: dict[Group, Estimate] = {}
    for group in cells.shown:
        if group == ORGANISATION:
            continue
        found = cells.estimate(group, pops.get(group))
        if found is not None:
            units[group] = found
    if organisation is None:
        for group, unit in units.items():
            shown[group] = Figure(unit.n, unit.mean, unit.half_width)
        return shown
    for group, lean in shrink(units, organisation, {g: pops.get(g) for g in units}).items():
        shown[group] = Figure(units[group].n, lean.mean, lean.half_width, lean.leans)
    return shown
