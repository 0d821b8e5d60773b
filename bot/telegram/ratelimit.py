"""Delivery: bulk sends paced to Telegram's ~30 messages/s; 429s and transient errors retried.

PTB's AIORateLimiter applies its overall limit to every request with a chat.
Replies inside a conversation are already paced by the person tapping, and
throttling them with the bulk limit would cap the whole bot near 30 answers/s.
So only requests made inside `bulk_sending()` are paced; every request, bulk or
not, waits out a 429 and is retried. With a shared `BulkBudget` (the bot run by
`build_application`) the pace is the database's bucket, the same for every replica,
and a bulk request's 429 pauses them all; without one, AIORateLimiter's own overall
limiter paces this process alone.

A 5xx or a dropped connection is retried too, twice, with a short pause:
editing a message again is harmless (Telegram answers "not modified" if the
first attempt got through). Answering a callback query is retried once: if the
first answer did get through, the second is refused (and only logged), while an
unanswered query leaves the person's button spinning with no word from the bot.
This module is the one place retries are decided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

from bot.services.bulk_budget import BULK_MESSAGES_PER_SECOND, BulkBudget

log = logging.getLogger(__name__)

_BULK: ContextVar[bool] = ContextVar("carecheck_bulk_sending", default=False)
RETRIES = 6  # after a 429, each waited out for its retry_after
TRANSIENT_RETRIES = 2  # after a 5xx or a dropped connection
TRANSIENT_PAUSE = 0.5  # seconds, doubled on the second retry
# Endpoints retried less after a transport failure: getUpdates is simply asked again
# by the updater, and a callback query can be answered only once.
FEWER_RETRIES = {"getUpdates": 0, "answerCallbackQuery": 1}


@contextmanager
def bulk_sending() -> Iterator[None]:
    """Mark the Bot API calls made in this block (and its tasks) as a bulk send."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


class ConversationRateLimiter(AIORateLimiter):
    def __init__(
        self, bulk_per_second: float = BULK_MESSAGES_PER_SECOND, budget: BulkBudget | None = None
    ) -> None:
        # With a shared budget the overall limiter is off (a rate of 0): the budget paces.
        super().__init__(
            overall_max_rate=0 if budget else bulk_per_second,
            overall_time_period=1,
            max_retries=RETRIES,
        )
        self.budget = budget

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        # Without a chat id AIORateLimiter skips its overall and group limiters;
        # `data` only steers the limiter, the request itself is in args/kwargs.
        bulk = _BULK.get()
        limited = data if bulk else {}
        if bulk and self.budget is not None and "chat_id" in data:
            callback = _budgeted(callback, self.budget)
        attempts = 1 + FEWER_RETRIES.get(endpoint, TRANSIENT_RETRIES)
        for attempt in range(attempts):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, limited, rate_limit_args
                )
            except (NetworkError, TimedOut) as error:
                # BadRequest is a NetworkError too, but a final answer: only the bare
                # transport failures are worth another try.
                if type(error) not in (NetworkError, TimedOut) or attempt + 1 == attempts:
                    raise
                log.debug("%s failed (%s); retrying", endpoint, error)
                await asyncio.sleep(TRANSIENT_PAUSE * 2**attempt)
        raise AssertionError("unreachable")


def _budgeted(
    callback: Callable[..., Coroutine[Any, Any, Any]], budget: BulkBudget
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Each attempt of a bulk request takes a token first; its 429 pauses every replica."""

    async def attempt(*args: Any, **kwargs: Any) -> Any:
        await budget.take()
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            wait = error.retry_after
            await budget.pause(wait if isinstance(wait, int) else wait.total_seconds())
            raise

    return attempt
