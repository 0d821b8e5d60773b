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

from bot.services.digests.digest_model import AUDIENCES, Audience, Figure, Status
from bot.services.digests.disclosure import ORGANISATION, REST, Cell, decide
from bot.services.digests.score_statistics import Estimate, estimate, shrink
from storage.reports import WindowAnswer

Group = object  # a unit id, REST or ORGANISATION


@dataclass(frozen=True)
class ItemCells:
    """One item and audience in one window: every respondent's value and what is shown."""

    values: dict[str, float]  # respondent -> their mean on the item
    group_of: Mapping[str, Group]
    others: dict[Group, Cell]  # each group (and the organisation) without the reader
    shown: frozenset[Group]

    def members(self, group: Group) -> list[str]:
        if group == ORGANISATION:
            return list(self.values)
        return [who for who in self.values if self.group_of[who] == group]

    def estimate(self, group: Group, population: int | None = None) -> Estimate | None:
        members = self.members(group)
        if not members:
            return None
        return estimate([self.values[who] for who in members], population)

    def status_of(self, group: Group, k: int) -> Status:
        if group in self.shown:
            return "shown"
        cell = self.others.get(group)
        everyone = len(self.members(group))
        if everyone == 0:
            return "none"
        return "few" if cell is None or cell.n < k else "withheld"


@dataclass(frozen=True)
class AudienceWindow:
    """One audience in one window: its items, and how many answered in each group."""

    items: dict[str, ItemCells]
    group_of: dict[str, Group]
    counts: dict[Group, int]  # respondents per group and for the organisation (everyone)
    counts_shown: frozenset[Group]


@dataclass(frozen=True)
class WindowCells:
    audiences: dict[Audience, AudienceWindow]

    def item(self, audience: Audience, item_id: str) -> ItemCells | None:
        return self.audiences[audience].items.get(item_id)


def window_cells(answers: Iterable[WindowAnswer], own: frozenset[str], k: int) -> WindowCells:
    """The window's cells under the reader's `own` respondent ids (empty: a reader who
    never answered, such as the command line)."""
    by_audience: dict[Audience, list[WindowAnswer]] = {a: [] for a in AUDIENCES}
    for answer in answers:
        by_audience[answer.audience].append(answer)
    return WindowCells({a: _audience(rows, own, k) for a, rows in by_audience.items()})


def _audience(rows: list[WindowAnswer], own: frozenset[str], k: int) -> AudienceWindow:
    newest: dict[tuple[str, str, str], WindowAnswer] = {}
    group_of: dict[str, Group] = {}
    for row in sorted(rows, key=lambda r: (r.answered_on, r.id)):
        newest[(row.respondent, row.question_id, row.item_id)] = row
        group_of[row.respondent] = REST if row.unit_id is None else row.unit_id
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (who, _question, item_id), row in newest.items():
        scores[item_id][who].append(row.score)
    items = {
        item_id: _item(
            {who: math.fsum(values) / len(values) for who, values in people.items()},
            group_of,
            own,
            k,
        )
        for item_id, people in scores.items()
    }
    counts: dict[Group, int] = defaultdict(int)
    count_cells: dict[Group, list[float]] = defaultdict(list)
    for who, group in group_of.items():
        counts[group] += 1
        if who not in own:
            count_cells[group].append(0.0)
    counts[ORGANISATION] = len(group_of)
    others = {g: Cell(g, len(v), 0.0) for g, v in count_cells.items()}
    others[ORGANISATION] = Cell(ORGANISATION, sum(c.n for c in others.values()), 0.0)
    return AudienceWindow(items, group_of, dict(counts), decide(others, k, means=False))


def _item(
    values: dict[str, float], group_of: Mapping[str, Group], own: frozenset[str], k: int
) -> ItemCells:
    totals: dict[Group, list[float]] = defaultdict(list)
    for who, value in values.items():
        if who not in own:
            totals[group_of[who]].append(value)
            totals[ORGANISATION].append(value)
    others = {g: Cell(g, len(v), math.fsum(v)) for g, v in totals.items()}
    return ItemCells(values, group_of, others, decide(others, k))


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
