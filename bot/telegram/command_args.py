"""A chat command's words, decoded into a typed request, or one translated refusal.

Whatever a person types after a command (anything: other scripts, huge numbers,
weeks in year 1) ends here as a request the services can take, or as the usage line
of that command. Which organisation a request is about comes from the person's roles;
a global administrator, who has no organisation of their own, is asked to choose it
(`ChooseOrganisation`), with buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.infra.i18n import _
from bot.services.digests.digest_access import manager_scope
from bot.services.identity import Identity
from bot.services.periods import parse_period
from bot.services.permissions import ROLE_NAMES, allowed, is_global_admin
from bot.services.refusal import Refusal
from bot.services.settings_desk import NOT_ALLOWED

ID_DIGITS = 18  # every id we store fits in SQLite's 63 bits with room to spare
_NUMBER = re.compile(rf"^[0-9]{{1,{ID_DIGITS}}}$")
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")

DIGEST_USAGE = _("Usage: /digest [unit number] [week like 2026-W47]")
INVITE_USAGE = _("Usage: /invite staff|service_user|manager|admin")
BAD_WEEK = _("There is no such week: give one from 2000 to 2100, like 2026-W47.")
DIGEST_REFUSED = _("Digests are for managers and administrators.")
ACTIONS_REFUSED = _("Improvement actions are for managers and administrators.")


@dataclass(frozen=True, slots=True)
class DigestRequest:
    org_id: int
    unit_id: int | None
    period: str | None


@dataclass(frozen=True, slots=True)
class Scope:
    org_id: int
    unit_id: int | None


@dataclass(frozen=True, slots=True)
class InviteRequest:
    role: str


@dataclass(frozen=True, slots=True)
class ChooseOrganisation:
    """A global administrator's command: which organisation is it about? (`detail`: the
    week of a digest, the role of an invitation.)"""

    detail: str


def digest_request(who: Identity, words: list[str]) -> DigestRequest | ChooseOrganisation | Refusal:
    """/digest [unit] [week]: a manager's own organisation, one of its units, another week."""
    numbers, weeks, other = _sorted(words)
    if other or len(weeks) > 1 or len(numbers) > 1:
        return Refusal(DIGEST_USAGE)
    period = weeks[0] if weeks else None
    if period is not None:
        try:
            parse_period(period)
        except ValueError:
            return Refusal(BAD_WEEK)
    scope = manager_scope(who.memberships)
    if scope is None:
        if not _global(who):
            return Refusal(DIGEST_REFUSED)
        return Refusal(DIGEST_USAGE) if numbers else ChooseOrganisation(period or "")
    return DigestRequest(scope[0], numbers[0] if numbers else scope[1], period)


def actions_scope(who: Identity, words: list[str]) -> Scope | ChooseOrganisation | Refusal:
    """/actions: the improvement actions of a manager's organisation or unit."""
    scope = manager_scope(who.memberships)
    if scope is None:
        return ChooseOrganisation("") if _global(who) else Refusal(ACTIONS_REFUSED)
    return Scope(*scope)


def settings_scope(who: Identity) -> int | ChooseOrganisation | Refusal:
    """/settings: the organisation its administrator runs (the first, if several); a
    global administrator chooses one."""
    if _global(who):
        return ChooseOrganisation("")
    for membership in who.memberships:
        org_id = membership.org_id
        if org_id is not None and allowed(who.memberships, "settings", org_id):
            return org_id
    return Refusal(NOT_ALLOWED)


def invite_request(who: Identity, words: list[str]) -> InviteRequest | ChooseOrganisation | Refusal:
    """/invite [role]: a link into the inviter's organisation (or unit)."""
    role = words[0] if words else "staff"
    if role not in ROLE_NAMES or len(words) > 1:
        return Refusal(INVITE_USAGE)
    if manager_scope(who.memberships) is None and _global(who):
        return ChooseOrganisation(role)
    return InviteRequest(role)


def _global(who: Identity) -> bool:
    return is_global_admin(who.memberships)


def _sorted(words: list[str]) -> tuple[list[int], list[str], list[str]]:
    """The words as ids (positive, in range), week-like words, and anything else."""
    numbers: list[int] = []
    weeks: list[str] = []
    other: list[str] = []
    for word in words:
        if _NUMBER.match(word) and int(word) > 0:
            numbers.append(int(word))
        elif _WEEK.match(word):
            weeks.append(word)
        else:
            other.append(word)
    return numbers, weeks, other
