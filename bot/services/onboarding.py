"""How people join and start: invitation links, the check-in, the language, stopping.

Independent of Telegram: adapters pass plain ids and codes in and show the outcome.
A refusal is one catalogue sentence (`Refusal`); anything else is what to show next.
Service users are never registered: they join by a poster's link and stay a keyed hash.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.infra.i18n import LANGUAGES, _
from bot.services.dialog_service import AlreadySubmitted, DialogService, Step
from bot.services.digests.locale_format import day
from bot.services.identity import Identity, IdentityService
from bot.services.refusal import Refusal
from bot.services.script_registry import ScriptNotFound
from storage.db import Database
from storage.errors import InviteError
from storage.invites import Invite, InviteRepo
from storage.orgs import Org, OrgRepo
from storage.people import PeopleRepo
from storage.prefs import PrefsRepo

log = logging.getLogger(__name__)

INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STAFF_SCRIPT = "staff-pulse"
SERVICE_USER_SCRIPT = "service-user"

INVALID_LINK = _("This link is not valid. Please ask for a new one.")
INVITE_REFUSALS = {
    "unknown": INVALID_LINK,
    "expired": _("This link has expired. Please ask for a new one."),
    "revoked": _("This link has been withdrawn. Please ask for a new one."),
    "used_up": _("This link has been used up. Please ask for a new one."),
}
STAFF_ONLY = _("Check-ins are for staff who joined with an invitation link.")
ALREADY_ANSWERED = _("You have already answered. You can answer again from {day}. Thank you!")
UNAVAILABLE = _("This questionnaire is not available right now.")


@dataclass(frozen=True, slots=True)
class ChooseLanguage:
    """A service user's link, but we do not know their language: ask, then join."""

    code: str


@dataclass(frozen=True, slots=True)
class Welcomed:
    """A staff member, manager or admin joined the organisation."""

    org: Org
    role: str


@dataclass(frozen=True, slots=True)
class Began:
    """A dialog started (or, `step.resumed`, went on where it stopped)."""

    step: Step


Started = Refusal | ChooseLanguage | Welcomed | Began


class Onboarding:
    def __init__(self, db: Database, identities: IdentityService, dialogs: DialogService) -> None:
        self.db = db
        self.identities = identities
        self.dialogs = dialogs
        self.people = PeopleRepo(db)
        self.invites = InviteRepo(db)
        self.orgs = OrgRepo(db)
        self.prefs = PrefsRepo(db)

    async def peek(self, code: str) -> Invite:
        """The invite behind a link, checked but not used; InviteError says why not."""
        if not INVITE_CODE.match(code):
            raise InviteError("unknown")
        return await self.invites.check(code, self.db.clock())

    async def start(self, who: Identity, code: str) -> Started:
        """/start with a link: join, and for service users begin their feedback at once."""
        try:
            invite = await self.peek(code)
        except InviteError as error:
            return _invite_refusal(error)
        if invite.role == "service_user" and not who.language_known:
            return ChooseLanguage(code)
        return await self._join(who, code)

    async def _join(self, who: Identity, code: str) -> Started:
        self.identities.forget_cached(who.telegram_id)
        try:
            invite = await self.invites.redeem(code, self.db.clock())
        except InviteError as error:
            return _invite_refusal(error)
        org = await self.orgs.get_org(invite.org_id) if invite.org_id is not None else None
        if org is None:
            org = await self.orgs.default_org()
        if invite.role == "service_user":
            return await self.begin(who, SERVICE_USER_SCRIPT, org.id, invite.unit_id)
        person = who.person or await self.people.get_or_create(who.telegram_id, who.language)
        await self.people.add_membership(person.id, invite.org_id, invite.unit_id, invite.role)
        if not person.active:
            await self.people.set_active(person.id, True)
        return Welcomed(org, invite.role)

    async def checkin(self, who: Identity) -> Refusal | Began:
        """/checkin or "Start now": this week's staff check-in, for staff of an organisation."""
        home = who.home
        if home is None or home.org_id is None or not who.may("checkin", home.org_id, home.unit_id):
            return Refusal(STAFF_ONLY)
        began = await self.begin(who, STAFF_SCRIPT, home.org_id, home.unit_id)
        assert not isinstance(began, ChooseLanguage | Welcomed)
        return began

    async def begin(
        self, who: Identity, script_id: str, org_id: int, unit_id: int | None
    ) -> Refusal | Began:
        respondent = (
            who.as_staff()
            if script_id == STAFF_SCRIPT and who.person is not None
            else who.as_service_user()
        )
        try:
            step = await self.dialogs.begin(
                script_id=script_id,
                org_id=org_id,
                unit_id=unit_id,
                respondent=respondent,
                language=who.language,
            )
        except AlreadySubmitted as answered:
            return already_answered(answered, who.language)
        except ScriptNotFound:
            log.error("no active script %s for organisation %s", script_id, org_id)
            return Refusal(UNAVAILABLE)
        return Began(step)

    async def choose_language(self, who: Identity, language: str, code: str) -> Started | None:
        """The language picked; with a pending link, the join it was asked for goes on."""
        if language not in LANGUAGES:
            raise ValueError(language)
        self.identities.forget_cached(who.telegram_id)
        if who.person is not None:
            await self.people.set_language(who.person.id, language)
        else:
            await self.prefs.set_language(who.key, language, self.db.clock().date())
        self.dialogs.set_language(who.telegram_id, language)
        if not code:
            return None
        chosen = await self.identities.identify(who.telegram_id, language)
        return await self._join(chosen, code)

    async def stop(self, who: Identity) -> bool:
        """No more automatic check-ins; answers and memberships stay."""
        if who.person is None or who.home is None:
            return False  # nobody sends them check-ins: there is nothing to stop
        self.identities.forget_cached(who.telegram_id)
        return await self.people.set_active(who.person.id, False)


def already_answered(answered: AlreadySubmitted, language: str) -> Refusal:
    """The refusal of a second answer in a period, with the day they may answer again."""
    again = day(answered.again_on, language)
    return Refusal(ALREADY_ANSWERED, {"day": again}, code="already_answered")


def _invite_refusal(error: InviteError) -> Refusal:
    return Refusal(INVITE_REFUSALS.get(error.reason, INVALID_LINK))
