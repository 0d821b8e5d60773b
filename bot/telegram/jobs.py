"""What the bot does by itself: weekly check-in pulses, one reminder, snoozes.

`run_due(now)` does everything due at `now` and is idempotent (a log of sends
in the database), so it can run every minute, after a restart, or from a test
with an injected clock. Sends are paced as bulk sends and run concurrently,
so 1,000 invitations take about 35 s at Telegram's ~30 messages/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.infra.i18n import translator
from bot.services.periods import iso_week, zone
from bot.telegram import screens as render
from bot.telegram.ratelimit import bulk_sending
from storage.db import Database
from storage.notifications import NotificationRepo
from storage.orgs import Org, OrgRepo
from storage.people import PeopleRepo, Person
from storage.sessions import SessionRepo

log = logging.getLogger(__name__)

REMINDER_AFTER = timedelta(days=2)
TICK_SECONDS = 60
PARALLEL_SENDS = 32
Extra = Callable[[datetime], Awaitable[object]]


@dataclass
class JobReport:
    pulses: int = 0
    reminders: int = 0
    snoozes: int = 0
    failed: int = 0
    extra: list[object] = field(default_factory=list)


def pulse_time(org: Org, now: datetime) -> datetime:
    """When this week's pulse for the organisation is (or was) due, in UTC."""
    local = now.astimezone(zone(org.timezone))
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # Arithmetic on a zoned datetime keeps wall-clock time, so DST weeks stay at the hour.
    return monday + timedelta(days=org.checkin_weekday, hours=org.checkin_hour)


class Scheduler:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Callable[[], datetime],
        extra_jobs: Iterable[Extra] = (),
    ) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.orgs = OrgRepo(db)
        self.people = PeopleRepo(db)
        self.sessions = SessionRepo(db)
        self.log = NotificationRepo(db)
        self.extra_jobs = list(extra_jobs)
        self._task: asyncio.Task[None] | None = None

    async def run_due(self, now: datetime | None = None) -> JobReport:
        now = now or self.clock()
        report = JobReport()
        for org in await self.orgs.list_orgs():
            if org.is_demo:
                continue  # its staff are synthetic: there is nobody to send to
            due = pulse_time(org, now)
            if now < due:
                continue
            period = iso_week(due.date())
            staff = await self.people.staff_of(org.id)
            kinds: list[tuple[str, list[Person]]] = [("pulse", staff)]
            if now >= due + REMINDER_AFTER:
                kinds.append(("reminder", staff))
            for kind, people in kinds:
                sent, failed = await self._notify(org, period, kind, people)
                if kind == "pulse":
                    report.pulses += sent
                else:
                    report.reminders += sent
                report.failed += failed
        for snooze in await self.log.take_due_snoozes(now):
            person = await self.people.get(snooze.person_id)
            if person is not None and person.active and await self._send(person, reminder=True):
                report.snoozes += 1
        for job in self.extra_jobs:
            report.extra.append(await job(now))
        return report

    async def _notify(
        self, org: Org, period: str, kind: str, people: list[Person]
    ) -> tuple[int, int]:
        gate = asyncio.Semaphore(PARALLEL_SENDS)

        async def one(person: Person) -> bool | None:
            async with gate:
                if await self.sessions.completed(person.id, org.id, period):
                    return None
                if not await self.log.mark_sent(person.id, org.id, period, kind):  # type: ignore[arg-type]
                    return None
                if await self._send(person, reminder=kind == "reminder"):
                    return True
                await self.log.unmark(person.id, org.id, period, kind)  # type: ignore[arg-type]
                return False

        with bulk_sending():
            results = await asyncio.gather(*(one(p) for p in people))
        return sum(r is True for r in results), sum(r is False for r in results)

    async def _send(self, person: Person, reminder: bool) -> bool:
        view = render.checkin_invitation(translator(person.language), reminder)
        try:
            await self.bot.send_message(
                person.telegram_id,
                view.text,
                parse_mode=ParseMode.HTML,
                reply_markup=view.keyboard,
            )
        except Forbidden:
            # They blocked the bot: stop asking until they come back.
            await self.people.set_active(person.id, False)
            log.info("person %s blocked the bot; check-ins stopped", person.id)
            return True
        except BadRequest as error:
            log.warning("invitation to person %s refused: %s", person.id, error)
            return True
        except TelegramError as error:
            log.warning("invitation to person %s failed, will retry: %s", person.id, error)
            return False
        return True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduled jobs failed; trying again in a minute")
            await asyncio.sleep(TICK_SECONDS)
