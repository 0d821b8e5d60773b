"""Who is writing, and how people join: identities, invites, language, leaving.

Independent of Telegram: handlers pass plain ids and codes in. Service users
are never stored by their Telegram id; they exist only as a keyed hash.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.infra.i18n import DEFAULT_LANGUAGE, LANGUAGES, pick_language
from bot.services.permissions import Action, allowed
from storage.db import Database
from storage.errors import InviteError
from storage.invites import Invite, InviteRepo
from storage.orgs import Org, OrgRepo
from storage.people import Membership, PeopleRepo, Person
from storage.prefs import PrefsRepo
from storage.secret import respondent_key

IDENTITY_TTL = 15.0  # seconds
IDENTITY_CACHE = 50_000
INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STAFF_ROLES = ("staff", "manager", "admin")


@dataclass(frozen=True, slots=True)
class Identity:
    telegram_id: int
    person: Person | None
    memberships: tuple[Membership, ...]
    key: str  # the keyed hash used for anonymous sessions
    language: str
    language_known: bool  # chosen or detected, rather than the fallback

    def may(self, action: Action, org_id: int | None, unit_id: int | None = None) -> bool:
        return allowed(self.memberships, action, org_id, unit_id)

    @property
    def home(self) -> Membership | None:
        """The organisation membership check-ins are sent for (the first one)."""
        for membership in self.memberships:
            if membership.org_id is not None:
                return membership
        return None


@dataclass(frozen=True, slots=True)
class Joined:
    invite: Invite
    org: Org
    person: Person | None  # None for service users: they are not registered


class Onboarding:
    def __init__(self, db: Database, secret: bytes) -> None:
        self.people = PeopleRepo(db)
        self.invites = InviteRepo(db)
        self.orgs = OrgRepo(db)
        self.prefs = PrefsRepo(db)
        self.secret = secret
        self._identities: dict[int, tuple[float, Identity]] = {}

    async def identify(self, telegram_id: int, language_code: str | None) -> Identity:
        """Who is writing, from a short-lived cache: asked on every update.

        Every change this process makes to a person drops their entry at once; a
        change made elsewhere (the CLI) is seen within IDENTITY_TTL seconds.
        """
        now = time.monotonic()
        cached = self._identities.get(telegram_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        identity = await self._identify(telegram_id, language_code)
        self._identities[telegram_id] = (now + IDENTITY_TTL, identity)
        if len(self._identities) > IDENTITY_CACHE:
            self._identities.pop(next(iter(self._identities)))
        return identity

    def forget_cached(self, telegram_id: int) -> None:
        self._identities.pop(telegram_id, None)

    async def _identify(self, telegram_id: int, language_code: str | None) -> Identity:
        key = respondent_key(self.secret, telegram_id)
        person, memberships = await self.people.with_memberships(telegram_id)
        if person is not None:
            return Identity(telegram_id, person, tuple(memberships), key, person.language, True)
        chosen = await self.prefs.language(key)
        detected = chosen or pick_language(language_code)
        language = detected or DEFAULT_LANGUAGE
        return Identity(telegram_id, None, (), key, language, detected is not None)

    async def peek_invite(self, code: str, now: datetime) -> Invite:
        """The invite behind a link, checked but not used; InviteError says why not."""
        if not INVITE_CODE.match(code):
            raise InviteError("unknown")
        return await self.invites.check(code, now)

    async def join(self, code: str, who: Identity, now: datetime) -> Joined:
        """Use an invite: staff roles are registered; service users stay anonymous."""
        await self.peek_invite(code, now)
        self.forget_cached(who.telegram_id)
        invite = await self.invites.redeem(code, now)
        org = await self.orgs.get_org(invite.org_id) if invite.org_id is not None else None
        if org is None:
            org = await self.orgs.default_org()
        if invite.role == "service_user":
            return Joined(invite, org, None)
        person = who.person or await self.people.get_or_create(who.telegram_id, who.language)
        await self.people.add_membership(person.id, invite.org_id, invite.unit_id, invite.role)
        if not person.active:
            await self.people.set_active(person.id, True)
        return Joined(invite, org, person)

    async def create_invite(
        self,
        who: Identity,
        org_id: int,
        role: str,
        unit_id: int | None,
        uses: int | None,
        expires_days: int | None,
        now: datetime,
    ) -> Invite:
        """An invite made in the chat; the caller has checked the permission."""
        expires = now + timedelta(days=expires_days) if expires_days else None
        created_by = who.person.id if who.person else None
        return await self.invites.create(org_id, unit_id, role, uses, expires, created_by)  # type: ignore[arg-type]

    async def set_language(self, who: Identity, language: str, today: date) -> None:
        if language not in LANGUAGES:
            raise ValueError(language)
        self.forget_cached(who.telegram_id)
        if who.person is not None:
            await self.people.set_language(who.person.id, language)
        else:
            await self.prefs.set_language(who.key, language, today)

    async def stop(self, who: Identity) -> bool:
        """No more automatic check-ins; answers and membership stay."""
        if who.person is None:
            return False
        self.forget_cached(who.telegram_id)
        return await self.people.set_active(who.person.id, False)
