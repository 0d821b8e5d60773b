"""Numbers and dates the way the manager's language writes them (3,8 in Slovenian).

Scores show one decimal in messages and charts, two in the audit report; a
change always carries its sign, with a real minus sign.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date, format_interval
from babel.numbers import format_decimal


def score(value: float | None, language: str, decimals: int = 1) -> str:
    if value is None:
        return "—"
    return format_decimal(value, "0." + "0" * decimals, locale=language)


def change(value: float | None, language: str, decimals: int = 1) -> str:
    """ "+0.3", "−0.2", or "±0.0" for a change too small to show (never "−0.0")."""
    if value is None:
        return ""
    digits = "0." + "0" * decimals
    if abs(value) < 0.5 * 10**-decimals:
        return "±" + format_decimal(0, digits, locale=language)
    return format_decimal(value, f"+{digits};−{digits}", locale=language)


def day(value: date | None, language: str) -> str:
    return "" if value is None else format_date(value, "medium", locale=language)


def week_span(start: date, end: date, language: str) -> str:
    """The days of a week, e.g. "Nov 16 – 22, 2026" or "16.–22. nov. 2026"."""
    return format_interval(start, end, "yMMMd", locale=language)
