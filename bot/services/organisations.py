"""Setting up who is where: organisations, their units, invitation links and administrators.

The command line's set-up commands call this; each refusal is a `SetupError` with one
line for the terminal, naming the value that is wrong.
"""

from __future__ import annotations

from datetime import timedelta

from bot.services.digests.digest_windows import Segment, plan_of
from bot.services.periods import local_today, zone
from frameworks import default_frameworks
from storage.db import Database
from storage.errors import AlreadyExists, NotFound
from storage.framework_versions import OwnFrameworkRepo
from storage.invites import Invite, InviteRepo, InviteRole
from storage.orgs import Org, OrgRepo
from storage.people import PeopleRepo

NAME_LIMIT = 120
# Telegram user ids are positive, so 0 is never a real person: it is the terminal, who
# answers in `carecheck console` and publishes from the command line.
TERMINAL_USER = 0


class SetupError(ValueError):
    """A set-up value is wrong; the message is one line naming it."""


class Organisations:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.orgs = OrgRepo(db)
        self.invites = InviteRepo(db)
        self.people = PeopleRepo(db)

    async def create(self, name: str, timezone: str, language: str, k: int) -> int:
        try:
            zone(timezone)
        except ValueError as error:
            raise SetupError(str(error)) from None
        return await self.orgs.create_org(_name(name), timezone=timezone, language=language, k=k)

    async def all(self) -> list[Org]:
        return await self.orgs.list_orgs()

    async def default(self) -> Org:
        """The organisation of a single-organisation installation, created on first use."""
        return await self.orgs.default_org()

    async def get(self, org_id: int) -> Org:
        org = await self.orgs.get_org(org_id)
        if org is None:
            raise SetupError(f"there is no organisation {org_id}")
        return org

    async def lens_choices(self, org_id: int) -> list[str]:
        """The lenses this organisation may choose: the shipped frameworks and its own.

        The one check of a lens, wherever it is set; another organisation's own
        framework is never among them.
        """
        await self.get(org_id)
        own = await OwnFrameworkRepo(self.db).live(org_id)
        return [*default_frameworks().ids(), *(v.framework_id for v in own)]

    async def set_window(self, org_id: int, weeks: int) -> Segment:
        """Scores over windows of `weeks` weeks, from the start of the window in progress.

        Windows already released keep their length, so nothing read before is recut.
        """
        org = await self.get(org_id)
        plan = plan_of(await self.orgs.window_segments(org_id))
        try:
            segment = plan.change_from(local_today(self.db.clock(), org.timezone), weeks)
        except ValueError as error:
            raise SetupError(str(error)) from None
        await self.orgs.start_window_segment(org_id, segment.starts_on, segment.weeks)
        return segment

    async def create_unit(self, org_id: int, name: str) -> int:
        try:
            return await self.orgs.create_unit(org_id, _name(name))
        except NotFound:
            raise SetupError(f"there is no organisation {org_id}") from None
        except AlreadyExists:
            raise SetupError(f"organisation {org_id} has a unit named {name!r}") from None

    async def create_invite(
        self,
        org_id: int,
        unit_id: int | None,
        role: InviteRole,
        uses: int | None,
        expires_days: int | None,
    ) -> Invite:
        await self.get(org_id)
        if unit_id is not None:
            unit = await self.orgs.get_unit(unit_id)
            if unit is None or unit.org_id != org_id:
                raise SetupError(f"organisation {org_id} has no unit {unit_id}")
        expires = self.db.clock() + timedelta(days=expires_days) if expires_days else None
        return await self.invites.create(org_id, unit_id, role, uses, expires, None)

    async def revoke_invite(self, code: str) -> None:
        if not await self.invites.revoke(code):
            raise SetupError("no such invitation, or it was withdrawn already")

    async def person(self, telegram_id: int = TERMINAL_USER, language: str = "en") -> int:
        """A staff person's id, registered now if new; by default the terminal's, whose
        answers and published scripts are an operator's."""
        return (await self.people.get_or_create(telegram_id, language)).id

    async def publisher(self, person_id: int | None) -> str:
        """Who published a script version, as the command line lists it."""
        if person_id is None:
            return "carecheck"
        person = await self.people.get(person_id)
        if person is not None and person.telegram_id == TERMINAL_USER:
            return "terminal"
        return f"person {person_id}"

    async def add_admin(self, telegram_id: int) -> bool:
        """Make a Telegram account a global administrator; False if it was one already."""
        person = await self.people.get_or_create(telegram_id, "en")
        return await self.people.add_membership(person.id, None, None, "admin")


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > NAME_LIMIT:
        raise SetupError(f"a name needs 1 to {NAME_LIMIT} characters")
    return name
