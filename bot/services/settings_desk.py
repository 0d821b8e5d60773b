"""/settings in the chat: an organisation's settings, one press at a time.

Every press is checked again here, whatever its button says: the presser must still
be an administrator of that whole organisation (or a global one), and the value one
that `org set` would take. A button carries a setting's code and a short value (the
callback data allow only letters, digits, `-` and `_`): a time zone as its place in
`ZONE_CHOICES`, a gap in hundredths of a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.infra.i18n import LANGUAGES, _
from bot.services.digests.digest_windows import WINDOW_CHOICES
from bot.services.identity import Identity
from bot.services.org_settings import (
    BAD_CHECKIN,
    BAD_GAP,
    BAD_K,
    BAD_RETENTION,
    BAD_WINDOW,
    BAD_ZONE,
    GAP_CHOICES,
    K_CHOICES,
    RETENTION_CHOICES,
    ZONE_CHOICES,
    SettingRefused,
    SettingsChange,
)
from bot.services.organisations import Organisations, SetupError
from bot.services.refusal import Refusal
from bot.services.safeguarding import Safeguarding
from frameworks import Frameworks
from storage.orgs import Org

OVERVIEW = "m"
# Each setting's code in a button, in the order the overview offers them.
SETTINGS = ("lens", "day", "hour", "tz", "lang", "k", "ret", "gap", "win", "help")
KEEP_ZONE = "c"  # the organisation's own zone, when it is not one of ZONE_CHOICES
# The safeguarding help text is written in a file (`carecheck org set --help-text-file`);
# the chat shows it and offers only this: back to the default text.
HELP_DEFAULT = "d"

NOT_ALLOWED = _("Only administrators of the whole organisation can change its settings.")
STALE = _("This button is no longer valid.")


@dataclass(frozen=True)
class Panel:
    """What /settings shows: the organisation's settings, and maybe one setting's choices."""

    org: Org
    window: int
    lenses: tuple[str, ...]
    frameworks: Frameworks
    choosing: str | None = None  # a code of SETTINGS
    saved: bool = False
    help_texts: dict[str, str] = field(default_factory=dict)  # the organisation's own, if any

    def lens_name(self, lens: str, language: str) -> str:
        """A framework's name in the language (its id, should it be gone)."""
        frameworks = self.frameworks
        return frameworks.get(lens).name(language) if lens in frameworks else lens

    def offered(self) -> list[tuple[str, bool]]:
        """The values offered for the setting being chosen, each with whether it is the
        current one; the current value is always among them."""
        org = self.org
        current: str
        values: list[str]
        if self.choosing == "lens":
            values, current = list(self.lenses), org.lens
        elif self.choosing == "day":
            values, current = [str(d) for d in range(7)], str(org.checkin_weekday)
        elif self.choosing == "hour":
            values, current = [str(h) for h in range(24)], str(org.checkin_hour)
        elif self.choosing == "tz":
            values = [str(i) for i in range(len(ZONE_CHOICES))]
            if org.timezone in ZONE_CHOICES:
                current = str(ZONE_CHOICES.index(org.timezone))
            else:
                values, current = [KEEP_ZONE, *values], KEEP_ZONE
        elif self.choosing == "lang":
            values, current = list(LANGUAGES), org.language
        elif self.choosing == "k":
            values, current = _with(K_CHOICES, org.k_threshold), str(org.k_threshold)
        elif self.choosing == "ret":
            values = _with(RETENTION_CHOICES, org.retention_months)
            current = str(org.retention_months)
        elif self.choosing == "gap":
            hundredths = round(org.gap_threshold * 100)
            values = _with([round(g * 100) for g in GAP_CHOICES], hundredths)
            current = str(hundredths)
        elif self.choosing == "win":
            values, current = _with(WINDOW_CHOICES, self.window), str(self.window)
        elif self.choosing == "help":
            values, current = [HELP_DEFAULT], "" if self.help_texts else HELP_DEFAULT
        else:
            return []
        return [(value, value == current) for value in values]


def _with(choices: tuple[int, ...] | list[int], current: int) -> list[str]:
    return [str(n) for n in sorted({*choices, current})]


class SettingsDesk:
    def __init__(
        self, organisations: Organisations, safeguarding: Safeguarding | None = None
    ) -> None:
        self.organisations = organisations
        self.safeguarding = safeguarding

    async def press(self, who: Identity, org_id: int, setting: str, value: str) -> Panel | Refusal:
        """The overview (`OVERVIEW`), a setting's choices (no value), or a value chosen
        and stored; a refusal, translated by the adapter, when nothing changed."""
        if not who.may("settings", org_id):
            return Refusal(NOT_ALLOWED)
        try:
            org = await self.organisations.get(org_id)
        except SetupError:
            return Refusal(STALE)
        if setting == OVERVIEW:
            return await self._panel(org)
        if setting not in SETTINGS:
            return Refusal(STALE)
        if not value:
            return await self._panel(org, setting)
        if setting == "help":
            if value != HELP_DEFAULT or self.safeguarding is None:
                return Refusal(STALE)
            await self.safeguarding.set_help_texts(org_id, {})
            return await self._panel(org, saved=True)
        try:
            change = _change(setting, value)
            if change.given():
                org = await self.organisations.change_settings(org_id, change)
        except SettingRefused as refused:
            return Refusal(refused.message)
        return await self._panel(org, saved=True)

    async def _panel(self, org: Org, choosing: str | None = None, saved: bool = False) -> Panel:
        window = await self.organisations.window_weeks(org.id)
        lenses = tuple(await self.organisations.lens_choices(org.id))
        own = {} if self.safeguarding is None else await self.safeguarding.help_texts(org.id)
        frameworks = self.organisations.frameworks
        return Panel(org, window, lenses, frameworks, choosing, saved, own)


def _change(setting: str, value: str) -> SettingsChange:
    """The change a button's value asks for; a malformed value is refused like a bad one."""
    if setting == "lens":
        return SettingsChange(lens=value)
    if setting == "lang":
        return SettingsChange(language=value)
    if setting == "tz":
        if value == KEEP_ZONE:
            return SettingsChange()
        index = _number("timezone", value, BAD_ZONE)
        if index >= len(ZONE_CHOICES):
            raise SettingRefused("timezone", BAD_ZONE)
        return SettingsChange(timezone=ZONE_CHOICES[index])
    if setting == "day":
        return SettingsChange(checkin_weekday=_number("checkin", value, BAD_CHECKIN))
    if setting == "hour":
        return SettingsChange(checkin_hour=_number("checkin", value, BAD_CHECKIN))
    if setting == "k":
        return SettingsChange(k=_number("k", value, BAD_K))
    if setting == "ret":
        return SettingsChange(retention_months=_number("retention-months", value, BAD_RETENTION))
    if setting == "gap":
        return SettingsChange(gap=_number("gap", value, BAD_GAP) / 100)
    return SettingsChange(window=_number("window", value, BAD_WINDOW))


def _number(option: str, value: str, message: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise SettingRefused(option, message)
    return int(value)
