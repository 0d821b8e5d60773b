"""When a weekly digest is due and which week it reports, in the organisation's time zone.

A digest always reports a finished ISO week: the one before the week in which
its send moment falls. Sent on Monday at 9, it covers Monday to Sunday just past.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.periods import iso_week, local_today, previous_period, zone


def default_period(now: datetime, timezone: str) -> str:
    """The last complete week where the organisation is: what an on-demand digest shows."""
    return previous_period(iso_week(local_today(now, timezone)))


def last_slot(now: datetime, timezone: str, weekday: int, hour: int) -> datetime:
    """The latest weekly send moment (weekday 0 = Monday, local hour) at or before `now`."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = _at(day, hour, tz)
    if slot > local:
        slot = _at(day - timedelta(days=7), hour, tz)
    return slot


def slot_period(slot: datetime) -> str:
    """The week a digest sent at `slot` reports."""
    return previous_period(iso_week(slot.date()))


def _at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz)
