"""The order updates are handled in: each person's one at a time, everyone's in parallel.

Telegram delivers one person's taps and messages in order, and handling them in that
order is what the person sees: a double tap finds the first tap's edit done, and a
multi-step flow (a ConversationHandler) never sees two of a person's updates at once.
Different people never wait for each other.

One person's flood must not fill the slots everyone shares, so the per-person rate
limit is applied here, before an update queues behind that person's others. Each
person has a token bucket: a burst of `BURST` updates, refilled at `RATE` a second.
The first update over the limit gets one polite sentence; the rest of the flood is
dropped, except that a pressed button is still answered (Telegram expects every
callback query answered), and the person is let through again as soon as the bucket
refills. Nothing about who it was is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any, Literal, Protocol

from cachetools import LRUCache
from telegram import Bot, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.infra.i18n import _, pick_language, translator

log = logging.getLogger(__name__)

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
        self._buckets: LRUCache[int, _Bucket] = LRUCache(maxsize=people)

    def admit(self, person: int) -> Verdict:
        now = self.clock()
        bucket = self._buckets.get(person)
        if bucket is None:
            bucket = self._buckets[person] = _Bucket(float(self.burst), now)
        else:
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


class Flows(Protocol):
    """A person's flows loaded before their update and saved after (`flow_sync.py`)."""

    async def before(self, person: int) -> str | None: ...

    async def after(self, person: int, stored: str | None) -> None: ...


class PersonByPerson(BaseUpdateProcessor):
    """PTB's update processor: per-person order, everyone in parallel, floods refused."""

    def __init__(self, max_concurrent_updates: int, gate: FloodGate | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.gate = gate or FloodGate()
        self.bot: Bot | None = None  # set once the application exists, to answer floods
        self.flows: Flows | None = None  # set once it exists: flows from the database
        self._queues: dict[int, tuple[asyncio.Lock, int]] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        person = _person(update)
        if person is None:
            await coroutine
            return
        verdict = self.gate.admit(person)
        if verdict != "pass":
            _close(coroutine)
            assert isinstance(update, Update)
            await self._refuse(update, verdict)
            return
        lock, waiting = self._queues.get(person, (asyncio.Lock(), 0))
        self._queues[person] = (lock, waiting + 1)
        try:
            async with lock:
                await self._apply(person, coroutine)
        finally:
            lock, waiting = self._queues[person]
            if waiting == 1:
                del self._queues[person]
            else:
                self._queues[person] = (lock, waiting - 1)

    async def _apply(self, person: int, coroutine: Awaitable[Any]) -> None:
        """The update, between its person's flows loaded and saved (any replica's steps)."""
        if self.flows is None:
            await coroutine
            return
        try:
            stored = await self.flows.before(person)
        except BaseException:
            _close(coroutine)
            raise
        await coroutine
        await self.flows.after(person, stored)

    async def _refuse(self, update: Update, verdict: Verdict) -> None:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None and self.bot is not None
        text = translator(pick_language(user.language_code))(SLOW_DOWN)
        try:
            if update.callback_query is not None:
                await self.bot.answer_callback_query(
                    update.callback_query.id, text if verdict == "warn" else None
                )
            elif verdict == "warn":
                await self.bot.send_message(chat.id, escape(text), parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("answering a flood failed: %s", error)
        if verdict == "warn":
            log.info("a person is flooding the bot; their updates are dropped until it ebbs")


def _person(update: object) -> int | None:
    """Whose update this is, for ordering and the flood gate; None: neither applies.

    Membership changes (the bot added to or removed from a group) and updates from
    groups and channels are not a person's conversation with the bot.
    """
    if not isinstance(update, Update) or update.my_chat_member is not None:
        return None
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    return user.id


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()  # never started: nothing of it runs
