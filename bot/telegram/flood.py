"""A per-person rate limit, so one person's flood cannot crowd out everyone else.

It runs before every other handler (group -1). Each person has a token bucket: a
burst of `BURST` updates, refilled at `RATE` a second, which is about what Telegram
lets a bot send back into one chat anyway. The first update over the limit gets one
polite sentence; the rest of the flood is dropped, except that a pressed button is
still answered (Telegram expects every callback query answered), and the person is
let through again as soon as the bucket refills. Nothing about who it was is logged.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Literal

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.infra.i18n import _, pick_language, translator

log = logging.getLogger(__name__)

GATE = "carecheck.flood"
RATE = 1.0  # updates a second, sustained
BURST = 20  # updates at once
PEOPLE = 10_000  # buckets kept; the least recently active are dropped first (they are full)
SLOW_DOWN = _("You are sending a lot at once. Please wait a moment, then carry on.")

Verdict = Literal["pass", "warn", "drop"]


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGate:
    """Token buckets per person; `clock` is in seconds (a test can pin it)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        rate: float = RATE,
        burst: int = BURST,
        people: int = PEOPLE,
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.people = people
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def admit(self, person: int) -> Verdict:
        now = self.clock()
        bucket = self._buckets.get(person)
        if bucket is None:
            bucket = self._buckets[person] = _Bucket(float(self.burst), now)
            while len(self._buckets) > self.people:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(person)
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return "pass"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"


async def check(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the update through, or answer the flood once and stop every other handler."""
    if not isinstance(update, Update) or update.my_chat_member is not None:
        return
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    gate: FloodGate = context.application.bot_data[GATE]
    verdict = gate.admit(user.id)
    if verdict == "pass":
        return
    text = translator(pick_language(user.language_code))(SLOW_DOWN)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text if verdict == "warn" else None)
        elif verdict == "warn":
            await context.bot.send_message(chat.id, escape(text), parse_mode=ParseMode.HTML)
    except TelegramError as error:
        log.info("answering a flood failed: %s", error)
    if verdict == "warn":
        log.info("a person is flooding the bot; their updates are dropped until it ebbs")
    raise ApplicationHandlerStop


def install(application: Application) -> None:  # type: ignore[type-arg]
    application.bot_data[GATE] = FloodGate()
    application.add_handler(TypeHandler(Update, check), group=-1)
