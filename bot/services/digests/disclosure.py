"""Which numbers may be shown: k, and complementary suppression that survives subtraction.

Within one window, one audience and one framework item, an organisation's figure is the
sum of its units' figures and of the answers of staff in no unit (which are never shown
apart). Hiding one small unit is not enough when the organisation and every other unit
are shown: subtraction gives it back. So, as statistical offices do:

- a cell (the organisation, or a unit) is shown only with at least k respondents other
  than the person reading it: a manager who answered cannot subtract their own answer;
- when what is hidden could be worked out from what is shown, more is hidden: the
  smallest shown unit, else the organisation's figure. What is hidden must stay
  uncertain by at least `PROTECTION` points either way on the 1-5 scale (its protection
  interval), and whatever subtraction can give (all hidden cells taken together) must
  come from at least k respondents.

`audit` checks any set of released figures against that promise from the reader's side,
with nothing but the numbers they can see; the digests are built so that it finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCALE = (1.0, 5.0)
PROTECTION = 0.5
ORGANISATION = "org"
REST = "rest"  # staff of no unit: part of the organisation, never shown on their own


@dataclass(frozen=True)
class Cell:
    """One group's contribution, as the reader can know it: their own answers taken out.

    `n` respondents other than the reader, and `total`, the sum of their respondent means.
    """

    key: object  # a unit id, ORGANISATION or REST
    n: int
    total: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None


def decide(cells: Mapping[object, Cell], k: int, *, means: bool = True) -> frozenset[object]:
    """The cells shown: primary suppression below k, then complementary suppression.

    `means=False` for counts alone, where only the k rule on the hidden remainder holds.
    """
    units = [key for key in cells if key not in (ORGANISATION, REST)]
    shown = {key for key in (*units, ORGANISATION) if key in cells and cells[key].n >= k}
    while ORGANISATION in shown and problems(cells, shown, k, means=means):
        candidates = [key for key in units if key in shown]
        if candidates:
            shown.discard(min(candidates, key=lambda key: (cells[key].n, str(key))))
        else:
            shown.discard(ORGANISATION)
    return frozenset(shown)


def problems(
    cells: Mapping[object, Cell], shown: Iterable[object], k: int, *, means: bool = True
) -> list[str]:
    """What the shown cells give away about the hidden ones; empty when nothing does.

    Only the organisation's figure ties the cells together: with it hidden, nothing
    links them. With it shown, the hidden cells' sum is known exactly, so the hidden
    respondents together must number at least k, and each hidden group smaller than k
    must still be unknown to within PROTECTION of its mean, whatever the others hold.
    """
    shown = set(shown)
    if ORGANISATION not in shown or ORGANISATION not in cells:
        return []
    hidden = [cell for key, cell in cells.items() if key != ORGANISATION and key not in shown]
    hidden = [cell for cell in hidden if cell.n > 0]
    if not hidden:
        return []
    found = []
    together = sum(cell.n for cell in hidden)
    if together < k:
        found.append(f"the hidden groups together ({together}) are fewer than {k}")
    remainder = cells[ORGANISATION].total - sum(
        cells[key].total for key in shown if key != ORGANISATION
    )
    for cell in hidden:
        if cell.n >= k or not means:
            continue
        low, high = feasible_mean(cell, hidden, remainder)
        mean = cell.total / cell.n
        need_low, need_high = max(SCALE[0], mean - PROTECTION), min(SCALE[1], mean + PROTECTION)
        if low > need_low + 1e-9 or high < need_high - 1e-9:
            found.append(
                f"{cell.key} ({cell.n}) is pinned to [{low:.2f}, {high:.2f}] around {mean:.2f}"
            )
    return found


def feasible_mean(cell: Cell, hidden: list[Cell], remainder: float) -> tuple[float, float]:
    """The range of `cell`'s mean that fits the known sum of the hidden cells."""
    others = [c for c in hidden if c is not cell]
    low_rest = sum(c.n for c in others) * SCALE[0]
    high_rest = sum(c.n for c in others) * SCALE[1]
    low = (remainder - high_rest) / cell.n
    high = (remainder - low_rest) / cell.n
    return max(SCALE[0], low), min(SCALE[1], high)


@dataclass(frozen=True)
class Released:
    """A figure as a reader sees it: a group's size and mean, or nothing if hidden."""

    key: object
    n: int | None
    mean: float | None


def audit(released: Mapping[object, Released], truth: Mapping[object, Cell], k: int) -> list[str]:
    """From the reader's side: does anything shown pin a hidden group, or one below k?

    `released` is what the reader sees (their own answers already taken out of every
    group they are in); `truth` is what is really there, to say whether a range found
    leaves a hidden value protected. Empty when the promise holds.
    """
    shown = {key for key, figure in released.items() if figure.mean is not None}
    for key in shown:
        figure, real = released[key], truth[key]
        if figure.n != real.n or abs((figure.mean or 0) * real.n - real.total) > 0.01 * real.n:
            return [f"{key} is shown as {figure}, but holds {real}"]
    return problems(truth, shown, k)
