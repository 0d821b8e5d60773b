"""Who is writing: their person and roles, or only the keyed hash service users are known by.

Asked on every command, so kept briefly: every change this process makes to a person
drops their entry at once, and a change made elsewhere (the command line) is seen
within IDENTITY_TTL seconds. Service users are never stored by their Telegram id.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import TTLCache

from bot.infra.i18n import DEFAULT_LANGUAGE, pick_language
from bot.services.dialog_service import Respondent
from bot.services.permissions import Action, allowed
from storage.db import Database
from storage.people import Membership, PeopleRepo, Person
from storage.prefs import PrefsRepo
from storage.secret import respondent_key

IDENTITY_TTL = 15.0  # seconds
IDENTITY_CACHE = 50_000


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

    def as_staff(self) -> Respondent:
        assert self.person is not None
        return Respondent(self.telegram_id, person_id=self.person.id)

    def as_service_user(self) -> Respondent:
        return Respondent(self.telegram_id, key=self.key)


class IdentityService:
    def __init__(self, db: Database, secret: bytes) -> None:
        self.people = PeopleRepo(db)
        self.prefs = PrefsRepo(db)
        self.secret = secret
        self._cache: TTLCache[int, Identity] = TTLCache(maxsize=IDENTITY_CACHE, ttl=IDENTITY_TTL)

    def key(self, telegram_id: int) -> str:
        return respondent_key(self.secret, telegram_id)

    async def identify(self, telegram_id: int, language_code: str | None) -> Identity:
        cached = self._cache.get(telegram_id)
        if cached is None:
            cached = self._cache[telegram_id] = await self._identify(telegram_id, language_code)
        return cached

    async def with_roles(self) -> list[tuple[Identity, str | None]]:
        """Everyone with a role and a chat, with the menu last set there (None: never).

        Telegram ids are positive; 0 is the terminal and the demo's synthetic staff are
        negative: they have no chat.
        """
        found = []
        for person, menu in await self.people.menus():
            if person.telegram_id > 0:
                found.append((await self.identify(person.telegram_id, None), menu))
        return found

    async def menu_set(self, who: Identity, menu: str | None) -> None:
        """Record the menu now in the person's chat (see `with_roles`)."""
        if who.person is not None:
            await self.people.set_menu(who.person.id, menu)

    def forget_cached(self, telegram_id: int) -> None:
        self._cache.pop(telegram_id, None)

    async def _identify(self, telegram_id: int, language_code: str | None) -> Identity:
        key = self.key(telegram_id)
        person, memberships = await self.people.with_memberships(telegram_id)
        if person is not None:
            return Identity(telegram_id, person, tuple(memberships), key, person.language, True)
        chosen = await self.prefs.language(key)
        detected = chosen or pick_language(language_code)
        language = detected or DEFAULT_LANGUAGE
        return Identity(telegram_id, None, (), key, language, detected is not None)
