"""Reporting periods: ISO weeks like "2026-W47", in the organisation's own time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERIOD = re.compile(r"^(\d{4})-W(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # weeks carecheck can report on


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_period(text: str) -> tuple[date, date]:
    """First and last day of an ISO week; ValueError with a readable message otherwise."""
    match = PERIOD.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a week like 2026-W47")
    year, week = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{text!r}: weeks from {FIRST_YEAR} to {LAST_YEAR} only")
    try:
        start = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{text!r}: {year} has no week {week}") from None
    return start, start + timedelta(days=6)


def previous_period(period: str) -> str:
    start, _ = parse_period(period)
    return iso_week(start - timedelta(days=7))


def local_today(now: datetime, timezone: str) -> date:
    """The date at `now` where the organisation is."""
    return now.astimezone(zone(timezone)).date()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long, a folder
        raise ValueError(f"unknown time zone {name!r}") from None
