"""The bulk sender's ~30 messages/s, shared by every replica of the bot.

Telegram's limit is per bot, so with three replicas each pacing itself to 29/s the bot
would send 87/s and be answered 429. The budget is a token bucket kept in the database
(`storage/send_budget.py`), refilled by the injected clock's elapsed time and taken in a
write transaction, rather than a leader that alone sends: it works the same on SQLite
and PostgreSQL (no advisory locks, no election, no leader to fail over), every replica
sends its own jobs' messages, and a replica that dies holds nothing (at most the one
token it took). A token is reserved even when there is none left (the bucket goes into
debt) and the sender waits out the debt, so one round trip per message paces everyone in
the order they asked. A 429 drains the bucket for its retry_after: every replica pauses.
"""

from __future__ import annotations

import asyncio

from storage.db import Database
from storage.send_budget import SendBudget

BULK_MESSAGES_PER_SECOND = 29  # a little under Telegram's 30, so bursts stay inside
BULK_BURST = 29  # a second's worth at once


class BulkBudget:
    def __init__(
        self, db: Database, rate: float = BULK_MESSAGES_PER_SECOND, burst: float = BULK_BURST
    ) -> None:
        self._bucket = SendBudget(db, "bulk", rate, burst)

    async def take(self) -> None:
        """Wait until this replica may send one bulk message."""
        wait = await self._bucket.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: no replica sends bulk for `seconds`."""
        await self._bucket.drain(seconds)
