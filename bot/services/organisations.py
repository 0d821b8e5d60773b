"""Setting up who is where: organisations, their units, invitation links and administrators.

The command line's set-up commands call this; each refusal is a `SetupError` with one
line for the terminal, naming the value that is wrong.
"""

from __future__ import annotations

from datetime import timedelta

from bot.services.digests.digest_windows import Segment, plan_of
from bot.services.org_settings import SettingsChange, check
from bot.services.periods import local_today, zone
from frameworks import Frameworks, default_frameworks
from storage.db import Database
from storage.errors import AlreadyExists, NotFound
from storage.framework_versions import OwnFrameworkRepo
from storage.invites import Invite, InviteRepo, InviteRole
from storage.orgs import ArchivedUnit, Org, OrgRepo, Unit
from storage.people import Membership, PeopleRepo, Person

NAME_LIMIT = 120
# Telegram user ids are positive, so 0 is never a real person: it is the terminal, who
# answers in `carecheck console` and publishes from the command line.
TERMINAL_USER = 0


class SetupError(ValueError):
    """A set-up value is wrong; the message is one line naming it."""


class Organisations:
    def __init__(self, db: Database, frameworks: Frameworks | None = None) -> None:
        self.db = db
        self.frameworks = frameworks or default_frameworks()
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

    async def set_window(self, org_id: int, weeks: int) -> Segment:
        """Scores over windows of `weeks` weeks, from the start of the window in progress.

        Windows already released keep their length, so nothing read before is recut.
        """
        org = await self.get(org_id)
        try:
            segment = await self._new_segment(org_id, org.timezone, weeks)
        except ValueError as error:
            raise SetupError(str(error)) from None
        await self.orgs.start_window_segment(org_id, segment.starts_on, segment.weeks)
        return segment

    async def _new_segment(self, org_id: int, timezone: str, weeks: int) -> Segment:
        """The segment a new window length starts: from the window in progress today."""
        plan = plan_of(await self.orgs.window_segments(org_id))
        return plan.change_from(local_today(self.db.clock(), timezone), weeks)

    async def lens_choices(self, org_id: int) -> list[str]:
        """The frameworks the organisation's digests may report under: the one place a
        lens is decided valid (for `org set`, /settings and the digest's choices): the
        shipped frameworks and the organisation's own, never another organisation's."""
        await self.get(org_id)
        own = await OwnFrameworkRepo(self.db).live(org_id)
        return [*self.frameworks.ids(), *(v.framework_id for v in own)]

    async def window_weeks(self, org_id: int) -> int:
        """The window length in force now."""
        return plan_of(await self.orgs.window_segments(org_id)).weeks

    async def change_settings(self, org_id: int, change: SettingsChange) -> Org:
        """Every value checked first (`SettingRefused` names the first bad one and nothing
        changes); then all of them stored in one transaction.

        A new window length starts with the window in progress, as `set_window` does.
        """
        org = await self.get(org_id)
        check(change, await self.lens_choices(org_id), _known_zone)
        window = None
        if change.window is not None and change.window != await self.window_weeks(org_id):
            timezone = change.timezone or org.timezone
            segment = await self._new_segment(org_id, timezone, change.window)
            window = (segment.starts_on, segment.weeks)
        return await self.orgs.update_settings(
            org_id,
            name=None if change.name is None else _name(change.name),
            timezone=change.timezone,
            language=change.language,
            k_threshold=change.k,
            lens=change.lens,
            checkin_weekday=change.checkin_weekday,
            checkin_hour=change.checkin_hour,
            retention_months=change.retention_months,
            gap_threshold=change.gap,
            window=window,
        )

    async def units(self, org_id: int) -> list[Unit]:
        await self.get(org_id)
        return await self.orgs.list_units(org_id)

    async def rename_unit(self, unit_id: int, name: str) -> Unit:
        try:
            renamed = await self.orgs.rename_unit(unit_id, _name(name))
        except AlreadyExists:
            raise SetupError(f"its organisation has a unit named {_name(name)!r}") from None
        unit = await self.orgs.get_unit(unit_id)
        if not renamed or unit is None:
            raise SetupError(f"there is no unit {unit_id}")
        return unit

    async def archive_unit(self, unit_id: int) -> ArchivedUnit:
        """Archive a unit (see `OrgRepo.archive_unit` for what happens to its people)."""
        unit = await self.orgs.get_unit(unit_id)
        if unit is None:
            raise SetupError(f"there is no unit {unit_id}")
        if unit.archived_on is not None:
            raise SetupError(f"unit {unit_id} is archived already")
        org = await self.get(unit.org_id)
        today = local_today(self.db.clock(), org.timezone)
        archived = await self.orgs.archive_unit(unit_id, today)
        if archived is None:
            raise SetupError(f"there is no unit {unit_id}")
        return archived

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
            if unit.archived_on is not None:
                raise SetupError(f"unit {unit_id} is archived: it takes no new people")
        expires = self.db.clock() + timedelta(days=expires_days) if expires_days else None
        return await self.invites.create(org_id, unit_id, role, uses, expires, None)

    async def invites_of(self, org_id: int) -> list[Invite]:
        """The organisation's invitation links, newest first, withdrawn ones too."""
        await self.get(org_id)
        return await self.invites.list(org_id)

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

    async def members(self, org_id: int) -> list[tuple[Person, list[Membership]]]:
        """Everyone with a role in the organisation, with their roles there."""
        await self.get(org_id)
        return await self.people.members_of(org_id)

    async def deactivate(self, org_id: int, person_id: int) -> int:
        """Someone who left: their roles in the organisation end, so they get no more
        check-ins, count as enrolled no more, and lose what a manager or admin may do.
        Their answers stay in the scores. A new invitation link brings them back, as
        the same respondent. Returns how many roles ended."""
        await self.get(org_id)
        ended = await self.people.leave(person_id, org_id)
        if not ended:
            raise SetupError(f"person {person_id} has no role in organisation {org_id}")
        return ended

    async def admins(self, org_id: int | None) -> list[Person]:
        """The organisation's administrators; None: the global ones."""
        if org_id is not None:
            await self.get(org_id)
        return await self.people.admins(org_id)

    async def remove_admin(self, telegram_id: int, org_id: int | None) -> None:
        """End a Telegram account's administrator role (global, or in the organisation)."""
        person = await self.people.by_telegram(telegram_id)
        if person is None or not await self.people.remove_admin(person.id, org_id):
            where = "global" if org_id is None else f"organisation {org_id}'s"
            raise SetupError(f"{telegram_id} is not a {where} administrator")

    async def add_admin(self, telegram_id: int) -> bool:
        """Make a Telegram account a global administrator; False if it was one already."""
        person = await self.people.get_or_create(telegram_id, "en")
        return await self.people.add_membership(person.id, None, None, "admin")


def _known_zone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > NAME_LIMIT:
        raise SetupError(f"a name needs 1 to {NAME_LIMIT} characters")
    return name
