"""The pure parts of a digest: windows, estimates, changes, shrinkage and suppression."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.digests.digest_windows import (
    GRID_START,
    Segment,
    Window,
    WindowPlan,
    default_length,
)
from bot.services.digests.disclosure import (
    ORGANISATION,
    PROTECTION,
    REST,
    Cell,
    Released,
    audit,
    decide,
    problems,
)
from bot.services.digests.score_statistics import difference, estimate, from_sums, shrink, t90

# ---------------------------------------------------------------- windows


def test_windows_tile_the_calendar_without_overlap() -> None:
    first = WindowPlan([]).change_from(date(2026, 3, 2), 4)
    second = WindowPlan([first]).change_from(date(2026, 6, 1), 13)
    plan = WindowPlan([first, second])
    day, seen = GRID_START, []
    while day < date(2027, 6, 1):
        window = plan.window_of(day)
        assert window.holds(day) and window.start.weekday() == 0 and window.end.weekday() == 6
        if not seen or seen[-1] != window:
            assert not seen or seen[-1].end + timedelta(days=1) == window.start
            seen.append(window)
        day += timedelta(days=1)
    assert {w.weeks for w in seen} == {8, 4, 13}
    assert plan.before(seen[-1]) == seen[-2]


def test_a_segment_off_the_boundary_is_refused() -> None:
    with pytest.raises(ValueError, match="does not start where"):
        WindowPlan([Segment(date(2026, 3, 2), 4)])


def test_the_released_window_is_complete_by_the_end_of_the_week() -> None:
    plan = WindowPlan([])
    for monday in (date(2026, 1, 5) + timedelta(weeks=n) for n in range(40)):
        week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
        released = plan.released(week)
        assert released.end <= monday + timedelta(days=6)
        assert plan.window_of(released.end + timedelta(days=1)).end > monday + timedelta(days=6)


def test_a_change_of_length_starts_at_the_window_in_progress() -> None:
    plan = WindowPlan([])
    today = date(2026, 11, 25)
    segment = plan.change_from(today, 26)
    assert segment.starts_on == plan.window_of(today).start
    with pytest.raises(ValueError, match="one of"):
        plan.change_from(today, 5)


def test_the_default_window_is_the_rotation_cycle() -> None:
    assert default_length(40, 5) == 8
    assert default_length(52, 4) == 13
    assert default_length(6, None) == 8


def test_half_a_year_and_a_year_back() -> None:
    plan = WindowPlan([])
    window = plan.window_of(date(2026, 11, 1))
    half, year = plan.back_by(window, 26), plan.back_by(window, 52)
    assert half is not None and year is not None
    assert abs((window.end - half.end).days - 26 * 7) <= 4 * 7
    assert abs((window.end - year.end).days - 52 * 7) <= 4 * 7
    assert plan.back_by(Window(GRID_START, 8), 52) is None


# ---------------------------------------------------------------- estimates


def test_an_interval_with_and_without_the_finite_population_correction() -> None:
    values = [1.0, 2.0, 4.0, 4.0, 5.0, 3.0]
    plain = estimate(values)
    assert plain.mean == pytest.approx(statistics.fmean(values))
    assert plain.half_width == pytest.approx(
        t90(5) * statistics.stdev(values) / math.sqrt(6), rel=1e-9
    )
    half = estimate(values, population=12)
    assert half.half_width == pytest.approx(plain.half_width * math.sqrt(6 / 11))  # type: ignore[operator]
    assert estimate(values, population=6).half_width == 0.0  # everyone answered
    assert estimate([3.0]).half_width is None
    sums = from_sums(6, sum(values), sum(v * v for v in values), 12)
    assert sums.half_width == pytest.approx(half.half_width)


def test_paired_respondents_sharpen_a_change() -> None:
    rng = random.Random(3)
    people = [rng.gauss(3, 0.8) for _ in range(20)]
    before = [p + rng.gauss(0, 0.2) for p in people]
    after = [p + 0.3 + rng.gauss(0, 0.2) for p in people]
    unpaired = difference(estimate(after), estimate(before))
    paired = difference(estimate(after), estimate(before), list(zip(after, before, strict=True)))
    assert not unpaired.real and paired.real
    assert paired.half_width is not None and unpaired.half_width is not None
    assert paired.half_width < unpaired.half_width / 2
    assert difference(estimate([3.0]), estimate([1.0, 2.0])).real is False


def test_a_gap_must_also_reach_the_threshold() -> None:
    staff, users = estimate([4.0, 4.1, 3.9] * 10), estimate([3.5, 3.6, 3.4] * 10)
    assert difference(staff, users).real
    assert not difference(staff, users, at_least=0.75).real


def test_small_units_lean_on_the_organisation() -> None:
    rng = random.Random(5)
    big = estimate([rng.gauss(4.0, 0.7) for _ in range(40)])
    small = estimate([rng.gauss(2.5, 0.7) for _ in range(3)])
    middle = estimate([rng.gauss(3.2, 0.7) for _ in range(15)])
    everyone = estimate([*[4.0] * 40, *[2.5] * 3, *[3.2] * 15])
    leaned = shrink({"big": big, "small": small, "middle": middle}, everyone)
    assert leaned["small"].weight < leaned["middle"].weight < leaned["big"].weight
    assert small.mean < leaned["small"].mean < everyone.mean
    alone = shrink({"only": small}, everyone)
    assert alone["only"].mean == small.mean and not alone["only"].leans


# ---------------------------------------------------------------- suppression


def cells(**sizes: tuple[int, float]) -> dict[object, Cell]:
    found: dict[object, Cell] = {k: Cell(k, n, n * mean) for k, (n, mean) in sizes.items()}
    found[ORGANISATION] = Cell(
        ORGANISATION, sum(c.n for c in found.values()), sum(c.total for c in found.values())
    )
    return found


def test_one_small_unit_takes_another_down_with_it() -> None:
    table = cells(a=(12, 4.0), b=(9, 3.0), c=(2, 1.0))
    shown = decide(table, 5)
    assert "c" not in shown and ORGANISATION in shown
    assert "b" not in shown and "a" in shown  # the smallest unit shown goes with c
    assert problems(table, shown, 5) == []
    assert problems(table, {"a", "b", ORGANISATION}, 5)  # without it, c is exact


def test_staff_of_no_unit_are_protected_like_a_unit() -> None:
    table = cells(a=(12, 4.0), b=(9, 3.0))
    table[REST] = Cell(REST, 1, 5.0)
    table[ORGANISATION] = Cell(ORGANISATION, 22, 12 * 4.0 + 9 * 3.0 + 5.0)
    shown = decide(table, 5)
    assert problems(table, shown, 5) == []
    assert ORGANISATION in shown and len(shown & {"a", "b"}) == 1


@given(
    st.lists(st.tuples(st.integers(0, 30), st.floats(1, 5)), min_size=1, max_size=6),
    st.integers(1, 10),
)
def test_whatever_is_decided_passes_the_audit(sizes: list[tuple[int, float]], k: int) -> None:
    table = cells(**{f"u{i}": size for i, size in enumerate(sizes)})
    shown = decide(table, k)
    assert all(table[key].n >= k for key in shown)
    released = {
        key: Released(key, cell.n, cell.mean) if key in shown else Released(key, None, None)
        for key, cell in table.items()
    }
    assert audit(released, table, k) == []


def test_the_audit_sees_a_subtraction() -> None:
    table = cells(a=(12, 4.0), c=(2, 1.0))
    released = {
        "a": Released("a", 12, 4.0),
        "c": Released("c", None, None),
        ORGANISATION: Released(ORGANISATION, 14, (48 + 2) / 14),
    }
    found = audit(released, table, 5)
    assert any("fewer than 5" in line for line in found)
    assert any("pinned to [1.00, 1.00]" in line for line in found)
    # Wider than the protection interval either way: nothing to report.
    table = cells(a=(12, 4.0), b=(9, 3.0), c=(2, 1.0))
    released = {key: Released(key, None, None) for key in ("b", "c")}
    released |= {key: Released(key, table[key].n, table[key].mean) for key in ("a", ORGANISATION)}
    assert audit(released, table, 5) == []
    assert PROTECTION == 0.5
