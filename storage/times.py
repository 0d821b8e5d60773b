"""The one text format for instants and days in the database.

Instants are UTC `YYYY-MM-DDTHH:MM:SSZ`, so text comparison in SQL orders them
correctly; days are `YYYY-MM-DD`. Every stored instant comes from the injected
`Clock`: the schema has no default of "now".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII)


def instant_text(moment: datetime) -> str:
    """Aware datetime -> stored text; a naive datetime is refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    return moment.astimezone(UTC).strftime(_FORMAT)


def instant(text: str) -> datetime:
    """Stored text -> aware UTC datetime; anything but the stored form is refused.

    `fromisoformat` is many times faster than `strptime`, and every mapped row
    with a time goes through here; the shape check keeps it as strict.
    """
    if _SHAPE.fullmatch(text) is None:
        raise ValueError(f"time data {text!r} does not match format {_FORMAT!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def maybe_instant(text: str | None) -> datetime | None:
    return None if text is None else instant(text)


def day_text(day: date) -> str:
    if isinstance(day, datetime):
        raise TypeError("pass a date, not a datetime: days are stored without a time")
    return day.isoformat()


def maybe_day_text(day: date | None) -> str | None:
    return None if day is None else day_text(day)


def day(text: str) -> date:
    return date.fromisoformat(text)


def maybe_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def week_end(period: str) -> date:
    """The last day (Sunday) of an ISO week like "2026-W48"."""
    year, week = period.split("-W")
    return date.fromisocalendar(int(year), int(week), 7)


# Where every "now" comes from: injected, so tests and moved-clock runs decide the time.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time; only the command line's composition root passes it in."""
    return datetime.now(UTC)
