"""The bulk budget is one token bucket in the database, shared by every replica."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.services.bulk_budget import BULK_BURST, BULK_MESSAGES_PER_SECOND
from bot.telegram.ratelimit import bulk_sending
from storage.send_budget import SendBudget
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI
from tests.replica_harness import Replica, running, two_handles


async def test_the_bucket_refills_by_the_clock_and_is_shared_by_handles(
    db_location: str,
) -> None:
    clock = FakeClock()
    async with two_handles(db_location, clock) as (one, two):
        first, second = SendBudget(one, "t", 10, 10), SendBudget(two, "t", 10, 10)
        waits = [await (first if i % 2 else second).reserve() for i in range(10)]
        assert waits == [0.0] * 10  # the burst, taken through both handles
        assert await first.reserve() == pytest.approx(0.1)
        assert await second.reserve() == pytest.approx(0.2)  # in debt: waits longer
        clock.advance(seconds=1.0)  # ten tokens back: the debt of two paid, eight left
        assert await second.reserve() == 0.0
        clock.advance(seconds=-30)  # a clock set back refills nothing
        assert await first.reserve() == 0.0
        await first.drain(2.0)  # a 429 with retry_after 2
        assert await second.reserve() == pytest.approx(2.1)


@pytest_asyncio.fixture
async def pair(
    fake_api: FakeBotAPI, tmp_path: Path, shared_database: str | None
) -> AsyncIterator[tuple[Replica, Replica]]:
    async with running(fake_api, tmp_path, FakeClock(), database=shared_database) as (a, b):
        yield a, b


async def bulk(replica: Replica, chat_ids: list[int]) -> None:
    assert replica.app is not None
    bot = replica.app.bot
    with bulk_sending():
        await asyncio.gather(*(bot.send_message(chat_id, "News") for chat_id in chat_ids))


async def test_two_replicas_sending_at_once_stay_within_one_bots_rate(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    people = [a.user(f"P{i}").id for i in range(2 * BULK_BURST + 12)]
    half = len(people) // 2
    # Each replica alone would send 29 at once: together, 58 in the first second.
    fake_api.enforce_rate_limits(global_burst=45.0)
    started = time.monotonic()
    await asyncio.gather(bulk(a, people[:half]), bulk(b, people[half:]))
    took = time.monotonic() - started
    assert fake_api.rate_limited == []
    assert all(len(fake_api.messages(p)) == 1 for p in people)
    assert took >= (len(people) - BULK_BURST) / BULK_MESSAGES_PER_SECOND - 0.2


async def test_a_429_pauses_the_other_replicas_bulk_sends(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    first, second = a.user("First").id, b.user("Second").id
    fake_api.inject_fault("429", "sendMessage", retry_after=1)
    await bulk(a, [first])  # told to wait a second, waited, sent
    started = time.monotonic()
    await bulk(b, [second])
    assert time.monotonic() - started >= 0.9
    assert len(fake_api.messages(first)) == len(fake_api.messages(second)) == 1
