"""What the bot does by itself, wired to Telegram: the services decide, this only sends.

Every minute (PTB's JobQueue), `run_due(now)` asks the check-in schedule, the weekly
digests and the retention job what is due, giving each a way to send. Sends are bulk
sends, paced to Telegram's ~30 messages/s, so 1,000 invitations take about 35 s.

Every replica runs this tick. What keeps two from sending one message twice is a claim
under a unique key in the database before each send, never which process runs the job:
check-in pulses and reminders (`notifications`), snoozes (taken with DELETE ... RETURNING),
digest parts (`digests_sent`), the news of done actions (`action_news_sent`) and
safeguarding alerts (`safeguarding_sends`); retention deletes are idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.infra.i18n import translator
from bot.services.checkin_schedule import CheckinReport, Sent
from bot.services.digests.action_news import NewsReport, deliver_news
from bot.services.digests.digest_delivery import deliver_due
from bot.services.digests.digest_render import RenderedDigest
from bot.services.retention import DailyRetention
from bot.services.runtime import Runtime
from bot.telegram.context import CarecheckContext
from bot.telegram.digest_handlers import news_text, send_digest_part
from bot.telegram.ratelimit import bulk_sending
from bot.telegram.safeguarding_handlers import alert_view
from bot.telegram.screens import checkin_invitation
from storage.actions import Action
from storage.digest_log import Recipient
from storage.people import Person
from storage.safeguard_store import AlertRecipient

log = logging.getLogger(__name__)

TICK_SECONDS = 60


@dataclass
class JobReport(CheckinReport):
    extra: list[object] = field(default_factory=list)  # digests, retention, safeguarding alerts


class Scheduler:
    def __init__(self, runtime: Runtime, bot: Bot) -> None:
        self.runtime = runtime
        self.bot = bot
        self.retention = DailyRetention(runtime.db)

    async def run_due(self, now: datetime | None = None) -> JobReport:
        now = now or self.runtime.clock()
        with bulk_sending():
            checkins = await self.runtime.checkins.run_due(now, self.send_invitation)
            alerts = await self.runtime.safeguarding.deliver_due(now, self.send_alert)
            digests = await deliver_due(
                self.runtime.db, self.runtime.own_frameworks, self.send_digest, now=now
            )
            news = await self.tell_staff()
        report = JobReport(checkins.pulses, checkins.reminders, checkins.snoozes, checkins.failed)
        report.extra = [digests, news, await self.retention(now), alerts]
        return report

    async def tell_staff(self) -> NewsReport:
        """ "You said, we did": the news of actions marked done, to their staff, once.

        Called by every tick and right after a manager marks an action done; the claims
        in the database keep two calls at once from sending anything twice.
        """
        with bulk_sending():
            return await deliver_news(self.runtime.db, self.runtime.own_frameworks, self.send_news)

    async def send_news(self, person: Person, action: Action, principle: str | None) -> Sent:
        text = news_text(action, principle, translator(person.language))
        return await self._send(person, text, None, "news of a done action")

    async def send_invitation(self, person: Person, reminder: bool) -> Sent:
        view = checkin_invitation(translator(person.language), reminder)
        return await self._send(person, view.text, view.keyboard, "invitation")

    async def _send(
        self, person: Person, text: str, keyboard: InlineKeyboardMarkup | None, what: str
    ) -> Sent:
        """A message the bot sends by itself, and how it went."""
        try:
            await self.bot.send_message(
                person.telegram_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except Forbidden:
            return "blocked"
        except BadRequest as error:
            log.warning("%s to person %s refused: %s", what, person.id, error)
            return "refused"
        except TelegramError as error:
            log.warning("%s to person %s failed, will retry: %s", what, person.id, error)
            return "failed"
        return "sent"

    async def send_alert(self, recipient: AlertRecipient, text: str, alert_id: int) -> None:
        """One safeguarding alert; a blocked bot counts as delivered, anything else retries."""
        view = alert_view(text, alert_id, "open", translator(recipient.language))
        try:
            await self.bot.send_message(
                recipient.telegram_id,
                view.text,
                parse_mode=ParseMode.HTML,
                reply_markup=view.keyboard,
            )
        except Forbidden:
            log.info(
                "person %s blocked the bot; safeguarding alert %s skipped",
                recipient.person_id,
                alert_id,
            )

    async def send_digest(self, recipient: Recipient, rendered: RenderedDigest, part: str) -> None:
        t = translator(recipient.language)
        try:
            await send_digest_part(self.bot, recipient.telegram_id, rendered, part, t)
        except Forbidden:
            log.info("manager %s blocked the bot; digest skipped", recipient.person_id)

    async def tick(self, context: CarecheckContext) -> None:
        """The JobQueue's callback: a failed run is logged and tried again a minute later."""
        try:
            await self.run_due()
        except Exception:
            log.exception("scheduled jobs failed; trying again in a minute")
