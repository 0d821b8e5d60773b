"""When staff are asked: the weekly check-in pulse, one reminder two days later, snoozes.

`run_due(now, send)` does everything due at `now` and is idempotent (a log of sends in
the database), so it can run every minute, after a restart, on several replicas at once,
or from a test with an injected clock. Each send is claimed with a lease
(`storage/invitation_claims.py`): a replica that dies between the claim and the send's
confirmation delays that invitation by `SEND_LEASE`, never skips it.
What sending means is the adapter's: `send` says how it went, and the
policy here decides what follows (a person who blocked the bot is asked no more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.services.identity import Identity
from bot.services.periods import iso_week, zone
from storage.db import Database
from storage.invitation_claims import InvitationClaims
from storage.notifications import Kind, NotificationRepo
from storage.orgs import Org, OrgRepo
from storage.people import PeopleRepo, Person
from storage.send_leases import SEND_LEASE
from storage.sessions import SessionRepo

log = logging.getLogger(__name__)

REMINDER_AFTER = timedelta(days=2)
SNOOZE = timedelta(hours=3)
PARALLEL_SENDS = 32

# How a send went: delivered; the person blocked the bot; Telegram refused this
# message for good; or a failure worth trying again at the next run.
Sent = Literal["sent", "blocked", "refused", "failed"]
SendInvitation = Callable[[Person, bool], Awaitable[Sent]]  # (person, is a reminder)


@dataclass
class CheckinReport:
    pulses: int = 0
    reminders: int = 0
    snoozes: int = 0
    failed: int = 0


def pulse_time(org: Org, now: datetime) -> datetime:
    """When this week's pulse for the organisation is (or was) due, in UTC."""
    local = now.astimezone(zone(org.timezone))
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # Arithmetic on a zoned datetime keeps wall-clock time, so DST weeks stay at the hour.
    return monday + timedelta(days=org.checkin_weekday, hours=org.checkin_hour)


class CheckinSchedule:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.orgs = OrgRepo(db)
        self.people = PeopleRepo(db)
        self.sessions = SessionRepo(db)
        self.log = NotificationRepo(db)
        self.claims = InvitationClaims(db)

    async def run_due(self, now: datetime, send: SendInvitation) -> CheckinReport:
        report = CheckinReport()
        for org in await self.orgs.list_orgs():
            if org.is_demo:
                continue  # its staff are synthetic: there is nobody to send to
            due = pulse_time(org, now)
            if now < due:
                continue
            period = iso_week(due.date())
            staff = await self.people.staff_of(org.id)
            kinds: list[Kind] = ["pulse"]
            if now >= due + REMINDER_AFTER:
                kinds.append("reminder")
            for kind in kinds:
                sent, failed = await self._notify(org, period, kind, staff, send)
                if kind == "pulse":
                    report.pulses += sent
                else:
                    report.reminders += sent
                report.failed += failed
        for snooze, leased in await self.claims.take_due_snoozes(now, now + SEND_LEASE):
            person = await self.people.get(snooze.person_id)
            if person is None or not person.active:
                await self.claims.snooze_done(snooze.person_id, leased)
            elif await self._send(person, True, send) != "failed":
                await self.claims.snooze_done(snooze.person_id, leased)
                report.snoozes += 1
            # A failed send keeps its leased snooze: it comes due again after the lease.
        return report

    async def snooze(self, who: Identity) -> bool:
        """ "Remind me later": the invitation comes again in about three hours."""
        home = who.home
        if who.person is None or home is None or home.org_id is None:
            return False
        await self.log.snooze(who.person.id, home.org_id, self.db.clock() + SNOOZE)
        return True

    async def _notify(
        self, org: Org, period: str, kind: Kind, people: list[Person], send: SendInvitation
    ) -> tuple[int, int]:
        gate = asyncio.Semaphore(PARALLEL_SENDS)

        async def one(person: Person) -> bool | None:
            async with gate:
                if await self.sessions.completed(person.id, org.id, period):
                    return None
                until = self.db.clock() + SEND_LEASE
                if not await self.claims.claim(person.id, org.id, period, kind, until):
                    return None
                if await self._send(person, kind == "reminder", send) != "failed":
                    await self.claims.confirm(person.id, org.id, period, kind)
                    return True
                await self.log.unmark(person.id, org.id, period, kind)
                return False

        results = await asyncio.gather(*(one(p) for p in people))
        return sum(r is True for r in results), sum(r is False for r in results)

    async def _send(self, person: Person, reminder: bool, send: SendInvitation) -> Sent:
        outcome = await send(person, reminder)
        if outcome == "blocked":
            # They blocked the bot: stop asking until they come back.
            await self.people.set_active(person.id, False)
            log.info("person %s blocked the bot; check-ins stopped", person.id)
        return outcome
