"""The injected clock tests move by hand: nothing sleeps, and no test reads the machine's time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, after 9:00 in Ljubljana


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: START)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
