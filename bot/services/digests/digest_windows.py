"""The windows scores are computed over: blocks of whole weeks that never overlap.

A week's answers are too few to score a unit (each person sees 5 of 40 statements),
so a score covers a window of W weeks: by default the staff script's rotation cycle
(8 weeks for 40 statements at 5 a week), or the organisation's own setting.

Windows follow each other without overlapping, and one is released only once its
last day is over. Rolling windows that step by a week would let anyone subtract one
week's window from the next and read the answers of the one or two people who
answered in between; disjoint, complete windows cannot be differenced into anything
smaller than themselves, and reading a digest twice gives the same numbers.

A change of W takes effect from the start of the window in progress (never released,
so nothing already read is cut again): the plan is a list of segments, each a start
day and a length, and each segment's windows follow from its start.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from bot.services.periods import iso_week, parse_period

WINDOW_CHOICES = (4, 8, 13, 26, 52)
DEFAULT_WINDOW = 8
GRID_START = date(2000, 1, 3)  # a Monday: the first segment of every organisation
TREND_WINDOWS = 12
HALF_YEAR, YEAR = 26, 52


@dataclass(frozen=True, order=True)
class Window:
    """`weeks` whole weeks from `start` (a Monday)."""

    start: date
    weeks: int

    @property
    def end(self) -> date:
        """The window's last day (a Sunday)."""
        return self.start + timedelta(weeks=self.weeks, days=-1)

    @property
    def first_week(self) -> str:
        return iso_week(self.start)

    @property
    def last_week(self) -> str:
        return iso_week(self.end)

    @property
    def label(self) -> str:
        """A stable name, e.g. "2026-W41+8": the first week and the length."""
        return f"{self.first_week}+{self.weeks}"

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Segment:
    starts_on: date  # a Monday
    weeks: int


class WindowPlan:
    """An organisation's windows: segments in order, each cut into blocks of its length."""

    def __init__(self, segments: Iterable[Segment]) -> None:
        listed = sorted(segments, key=lambda s: s.starts_on)
        if not listed or listed[0].starts_on > GRID_START:
            listed.insert(0, Segment(GRID_START, DEFAULT_WINDOW))
        for segment in listed:
            if segment.starts_on.weekday() != 0 or segment.weeks not in WINDOW_CHOICES:
                raise ValueError(f"not a window segment: {segment}")
        self.segments: tuple[Segment, ...] = tuple(listed)
        self._starts = [s.starts_on for s in self.segments]
        for earlier, later in pairwise(listed):
            weeks = (later.starts_on - earlier.starts_on).days // 7
            if weeks % earlier.weeks:
                # A window of the earlier segment would overlap one of the later.
                raise ValueError(f"{later} does not start where a window of {earlier} ends")

    @property
    def weeks(self) -> int:
        """The length in force now: the newest segment's."""
        return self.segments[-1].weeks

    def window_of(self, day: date) -> Window:
        """The window a day's answers belong to."""
        segment = self.segments[max(0, bisect_right(self._starts, day) - 1)]
        blocks = (day - segment.starts_on).days // (7 * segment.weeks)
        return Window(segment.starts_on + timedelta(weeks=blocks * segment.weeks), segment.weeks)

    def before(self, window: Window) -> Window:
        return self.window_of(window.start - timedelta(days=1))

    def released(self, period: str) -> Window:
        """The newest window complete at the end of `period` (an ISO week like "2026-W47")."""
        _start, end = parse_period(period)
        window = self.window_of(end)
        return window if window.end == end else self.before(window)

    def trend(self, newest: Window, count: int = TREND_WINDOWS) -> tuple[Window, ...]:
        """The last `count` windows up to `newest`, oldest first, none before the grid."""
        windows = [newest]
        while len(windows) < count and windows[-1].start > GRID_START:
            windows.append(self.before(windows[-1]))
        return tuple(reversed(windows))

    def back_by(self, window: Window, weeks: int) -> Window | None:
        """The window that ended nearest to `weeks` weeks before `window` did, if earlier."""
        target = window.end - timedelta(weeks=weeks)
        if target < GRID_START:
            return None
        found = self.window_of(target)
        if found.end > target + timedelta(days=7 * found.weeks // 2):
            found = self.before(found)
        return found if found < window and found.start >= GRID_START else None

    def change_from(self, today: date, weeks: int) -> Segment:
        """The segment a new length starts: the window in progress on `today` is recut."""
        if weeks not in WINDOW_CHOICES:
            raise ValueError(f"a window is one of {WINDOW_CHOICES} weeks, not {weeks}")
        return Segment(self.window_of(today).start, weeks)


def default_length(questions: int, per_session: int | None) -> int:
    """The staff script's rotation cycle, rounded to the nearest window on offer."""
    cycle = math.ceil(questions / per_session) if per_session else DEFAULT_WINDOW
    return min(WINDOW_CHOICES, key=lambda w: (abs(w - cycle), w))


def plan_of(rows: Sequence[tuple[date, int]]) -> WindowPlan:
    return WindowPlan(Segment(starts_on, weeks) for starts_on, weeks in rows)
