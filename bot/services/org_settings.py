"""An organisation's settings, each value checked before anything changes.

One change (the command line's `org set`, or one press in /settings) is checked
whole first: a bad value refuses all of it, naming the option, and nothing is stored.
Refusals are catalogue sentences, so the chat says them in the person's language and
the command line in English. What the chat offers as buttons is decided here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from babel.dates import get_day_names

from bot.infra.i18n import LANGUAGES, _, translator
from bot.services.digests.digest_windows import WINDOW_CHOICES

K_MIN, K_MAX = 3, 1000
RETENTION_MIN, RETENTION_MAX = 1, 120
GAP_MIN, GAP_MAX = 0.1, 2.0
# "Mon 09:00": an English three-letter day and a whole hour on the 24-hour clock.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHECKIN = re.compile(r"^\s*([A-Za-z]{3})\s+([0-9]{1,2}):([0-9]{2})\s*$")

# What the chat offers (the current value is always offered too).
K_CHOICES = (3, 4, 5, 6, 8, 10)
RETENTION_CHOICES = (6, 12, 24, 36, 60, 120)
GAP_CHOICES = (0.25, 0.5, 0.75, 1.0, 1.5)
ZONE_CHOICES = (
    "Europe/Ljubljana",
    "Europe/Zagreb",
    "Europe/Vienna",
    "Europe/Berlin",
    "Europe/Prague",
    "Europe/Bratislava",
    "Europe/Vilnius",
    "Europe/Riga",
    "Europe/Warsaw",
    "Europe/Budapest",
    "Europe/Rome",
    "Europe/Paris",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Helsinki",
)

BAD_K = _("The smallest group shown must be from 3 to 1000 people.")
BAD_ZONE = _("That is not a time zone we know, such as Europe/Ljubljana.")
BAD_LENS = _("This organisation cannot report under that framework.")
BAD_CHECKIN = _("A check-in time is a weekday and a whole hour, such as Mon 09:00.")
BAD_WINDOW = _("Scores can cover 4, 8, 13, 26 or 52 weeks.")
BAD_RETENTION = _("Comments can be kept for 1 to 120 months.")
BAD_GAP = _("The gap threshold must be from 0.1 to 2.0 points.")
BAD_LANGUAGE = _("The language must be one of en, sl, de, cs, lt.")
BAD_NAME = _("A name needs 1 to 120 characters.")


class SettingRefused(ValueError):
    """A setting's value is refused: `option` names it, `message` says why (a msgid).

    As text (the command line's one line), the option and the sentence in English.
    """

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(f"--{option}: {translator('en')(message)}")


@dataclass(frozen=True)
class SettingsChange:
    """The settings to change; None keeps the stored value."""

    name: str | None = None
    lens: str | None = None
    checkin_weekday: int | None = None
    checkin_hour: int | None = None
    timezone: str | None = None
    language: str | None = None
    k: int | None = None
    retention_months: int | None = None
    gap: float | None = None
    window: int | None = None

    def given(self) -> bool:
        return any(value is not None for value in vars(self).values())

    def with_checkin(self, text: str | None) -> SettingsChange:
        """The change with a check-in time read from text like "Mon 09:00" (None: none)."""
        if text is None:
            return self
        weekday, hour = parse_checkin(text)
        return replace(self, checkin_weekday=weekday, checkin_hour=hour)


def parse_checkin(text: str) -> tuple[int, int]:
    """ "Mon 09:00" -> (0, 9). Days are English three-letter names in any case; hours
    0-23; the scheduler runs on whole hours, so minutes other than :00 are refused."""
    match = _CHECKIN.match(text[:40])
    if match is None or match.group(1).lower() not in WEEKDAYS:
        raise SettingRefused("checkin", BAD_CHECKIN)
    hour, minutes = int(match.group(2)), int(match.group(3))
    if not 0 <= hour <= 23 or minutes != 0:
        raise SettingRefused("checkin", BAD_CHECKIN)
    return WEEKDAYS.index(match.group(1).lower()), hour


def checkin_text(weekday: int, hour: int) -> str:
    """The check-in time as `org set --checkin` takes it: "Mon 09:00"."""
    return f"{WEEKDAYS[weekday].title()} {hour:02d}:00"


def day_name(weekday: int, language: str) -> str:
    """A weekday's name in the language, as its readers write it (0: Monday)."""
    return str(get_day_names("wide", locale=language)[weekday]).capitalize()


def check(change: SettingsChange, lenses: list[str], zone_ok: Any) -> None:
    """Refuse the change if any value in it is bad (the first found, named)."""
    if change.name is not None and not 0 < len(" ".join(change.name.split())) <= 120:
        raise SettingRefused("name", BAD_NAME)
    if change.lens is not None and change.lens not in lenses:
        raise SettingRefused("lens", BAD_LENS)
    if change.checkin_weekday is not None and change.checkin_weekday not in range(7):
        raise SettingRefused("checkin", BAD_CHECKIN)
    if change.checkin_hour is not None and change.checkin_hour not in range(24):
        raise SettingRefused("checkin", BAD_CHECKIN)
    if change.timezone is not None and not zone_ok(change.timezone):
        raise SettingRefused("timezone", BAD_ZONE)
    if change.language is not None and change.language not in LANGUAGES:
        raise SettingRefused("language", BAD_LANGUAGE)
    if change.k is not None and not K_MIN <= change.k <= K_MAX:
        raise SettingRefused("k", BAD_K)
    months = change.retention_months
    if months is not None and not RETENTION_MIN <= months <= RETENTION_MAX:
        raise SettingRefused("retention-months", BAD_RETENTION)
    if change.gap is not None and not GAP_MIN <= change.gap <= GAP_MAX:
        raise SettingRefused("gap", BAD_GAP)
    if change.window is not None and change.window not in WINDOW_CHOICES:
        raise SettingRefused("window", BAD_WINDOW)
