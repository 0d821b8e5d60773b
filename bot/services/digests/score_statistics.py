"""How sure a score is: its n, a 90% interval, shrinkage of small units, and real changes.

- A score is the mean of respondents' own means (each person counts once, however many
  of an item's statements they answered), with a t-interval. Staff intervals use the
  finite-population correction: the number enrolled is known, and a team that nearly all
  answered knows its own mean almost exactly. Service users get none: they are not
  counted, and come and go.
- A unit's score leans on its organisation's in proportion to how little the unit's own
  answers say (empirical Bayes): a unit of four answers is pulled toward the
  organisation's mean, a unit of forty barely moves.
- A change, or a gap between staff and service users, is called one only when the 90%
  interval of the difference leaves out zero. Here the correction does not apply: the
  question is whether the service changed, not whether this window's people answered
  differently, so each side keeps its full sampling error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")

# One-sided 95% quantiles of Student's t (so two-sided 90%), by degrees of freedom.
_T95 = (
    6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
    1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
    1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
)  # fmt: skip
_Z95 = 1.6449
LEANS = 0.5  # a unit whose own answers carry less weight than this leans on its organisation


def t90(df: float) -> float:
    """The multiplier of a two-sided 90% t-interval with `df` degrees of freedom."""
    if df < 1:
        return math.inf
    if df <= len(_T95):
        whole = int(df)
        low = _T95[whole - 1]
        high = _T95[min(whole, len(_T95) - 1)]
        return low + (high - low) * (df - whole)
    # Beyond the table the quantile is near z; interpolate in 1/df (exact to 0.001).
    return _Z95 + (_T95[-1] - _Z95) * len(_T95) / df


@dataclass(frozen=True)
class Estimate:
    """A mean of `n` respondents with its 90% half-width (None when n < 2)."""

    n: int
    mean: float
    sd: float  # the sample standard deviation of the respondents' means (0 when n < 2)
    half_width: float | None

    @property
    def se(self) -> float:
        """The standard error without any finite-population correction."""
        return self.sd / math.sqrt(self.n) if self.n > 0 else math.inf


def estimate(values: Sequence[float], population: int | None = None) -> Estimate:
    """The mean of `values` and its interval; `population` applies the correction."""
    return from_sums(len(values), math.fsum(values), math.fsum(v * v for v in values), population)


def from_sums(n: int, total: float, squares: float, population: int | None = None) -> Estimate:
    """The same from a group's count, sum and sum of squares (what SQL hands over)."""
    if n == 0:
        raise ValueError("no values to estimate from")
    mean = total / n
    if n < 2:
        return Estimate(n, mean, 0.0, None)
    sd = math.sqrt(max(0.0, squares - total * mean) / (n - 1))
    correction = 1.0
    if population is not None and population > 1:
        correction = math.sqrt(max(0.0, population - n) / (population - 1))
    return Estimate(n, mean, sd, t90(n - 1) * sd / math.sqrt(n) * correction)


@dataclass(frozen=True)
class Difference:
    """`a - b`, its 90% half-width, and whether the interval leaves out zero."""

    value: float
    half_width: float | None
    real: bool


def difference(
    a: Estimate, b: Estimate, pairs: Sequence[tuple[float, float]] = (), at_least: float = 0.0
) -> Difference:
    """Is `a` different from `b`? `at_least`: and by at least this much.

    `pairs` are the (a, b) values of respondents in both groups: the same staff
    answering in two windows. Their answers move together, which Welch's test would
    count as noise; the t-test for partially overlapping samples (Derrick, Toher and
    White, 2017) takes the covariance out, and is Welch's test when nobody is in both.
    """
    value = a.mean - b.mean
    if a.n < 2 or b.n < 2:
        return Difference(value, None, False)
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    both = len(pairs)
    covariance = 0.0
    if both >= 2:
        mean_a = math.fsum(x for x, _ in pairs) / both
        mean_b = math.fsum(y for _, y in pairs) / both
        paired = math.fsum((x - mean_a) * (y - mean_b) for x, y in pairs) / (both - 1)
        covariance = paired * both / (a.n * b.n)
    variance = max(va + vb - 2 * covariance, 0.0)
    if variance == 0:
        return Difference(value, 0.0, abs(value) >= max(at_least, 1e-9))
    welch = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1)) if va + vb else a.n + b.n - 2
    only = a.n + b.n - 2 * both
    df = welch if both < 2 or only == 0 else (both - 1) + (welch - both + 1) / (a.n + b.n) * only
    if only == 0:
        df = both - 1
    half = t90(df) * math.sqrt(variance)
    return Difference(value, half, abs(value) > half and abs(value) >= at_least)


@dataclass(frozen=True)
class Shrunk:
    """A unit's score after leaning on its organisation's: `weight` is its own answers'."""

    mean: float
    half_width: float | None
    weight: float

    @property
    def leans(self) -> bool:
        return self.weight < LEANS


def shrink(
    units: Mapping[K, Estimate],
    organisation: Estimate,
    populations: Mapping[K, int | None] | None = None,
) -> dict[K, Shrunk]:
    """Each unit's score pulled toward the organisation's by how little it knows itself.

    The between-unit variance is estimated by the method of moments from the units
    given; with fewer than two of them there is nothing to learn it from, and each unit
    stands on its own answers.
    """
    usable = {key: e for key, e in units.items() if e.n >= 2}
    within = _pooled_variance(usable.values())
    between = _between_variance(usable.values(), within)
    shrunk: dict[K, Shrunk] = {}
    for key, unit in units.items():
        if len(usable) < 2 or unit.n < 2 or within == 0:
            shrunk[key] = Shrunk(unit.mean, unit.half_width, 1.0)
            continue
        noise = within / unit.n
        weight = between / (between + noise) if between + noise > 0 else 1.0
        mean = weight * unit.mean + (1 - weight) * organisation.mean
        population = (populations or {}).get(key)
        correction = 1.0
        if population is not None and population > 1:
            correction = math.sqrt(max(0.0, population - unit.n) / (population - 1))
        # The posterior spread of a normal-normal model, widened by t for a small n.
        half = t90(unit.n - 1) * math.sqrt(weight * noise) * correction
        shrunk[key] = Shrunk(mean, half, weight)
    return shrunk


def _pooled_variance(estimates: Iterable[Estimate]) -> float:
    listed = list(estimates)
    freedom = sum(e.n - 1 for e in listed)
    if freedom <= 0:
        return 0.0
    return math.fsum((e.n - 1) * e.sd**2 for e in listed) / freedom


def _between_variance(estimates: Iterable[Estimate], within: float) -> float:
    listed = list(estimates)
    if len(listed) < 2:
        return 0.0
    centre = math.fsum(e.mean for e in listed) / len(listed)
    spread = math.fsum((e.mean - centre) ** 2 for e in listed) / (len(listed) - 1)
    noise = math.fsum(within / e.n for e in listed) / len(listed)
    # Never zero: units are never known to be identical, only not shown to differ.
    return max(spread - noise, 0.01 * within, 1e-6)
