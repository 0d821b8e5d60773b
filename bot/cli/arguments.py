"""Argument types shared by the subcommands; a wrong value is one clear line.

Every number is range-checked here: an id beyond what the database can hold, or a
count or duration beyond any sensible use, is refused before anything runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import date

ID_MAX = 2**63 - 1  # SQLite's largest integer


class UsageError(Exception):
    """A wrong argument value found after parsing, reported as one line."""


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None


def between(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text[:40]} is not between {low} and {high}")
        return value

    parse.__name__ = "whole number"  # what argparse names in its own messages
    return parse


# An id of something stored (organisation, unit, version, Telegram account).
positive = between(1, ID_MAX)


def finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite number")
    return value
