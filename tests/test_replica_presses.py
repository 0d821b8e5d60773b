"""Two replicas on one database file: presses on one session give one step, however delivered.

The ledger stops one update being applied twice; a double tap is two updates, and a
crash between the answer's commit and the ledger's "done" lets the same update be
applied again: in both, the session's revision and step make it one step.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.fake_clock import FakeClock
from tests.fakebotapi.models import StoredMessage, User
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import button
from tests.replica_harness import Replica, running
from tests.test_bot_dialog import first_question
from tests.test_webhook_server import post


@pytest_asyncio.fixture
async def pair(
    fake_api: FakeBotAPI, tmp_path: Path, shared_database: str | None
) -> AsyncIterator[tuple[Replica, Replica]]:
    fake_api.webhook_retry_delay = 0.05
    async with running(fake_api, tmp_path, FakeClock(), database=shared_database) as (a, b):
        yield a, b


async def staff_at_question(a: Replica) -> tuple[User, StoredMessage]:
    org = await a.org()
    code = await a.invite(org, "staff")
    user = a.user("Mia")
    await a.command(user, "/start", code)
    return user, await first_question(a, user)


def held(api: FakeBotAPI, user: User, message: StoredMessage, data: str) -> dict[str, Any]:
    """A press Telegram has queued but not posted yet (the test posts it)."""
    api.press(user, message, data)
    return api.pending_updates.pop()


async def a_held_press(api: FakeBotAPI, a: Replica) -> tuple[User, StoredMessage, dict[str, Any]]:
    """Someone at their first question, and a press of theirs the test will post itself."""
    user, question = await staff_at_question(a)
    api.set_webhook_targets([])
    return user, question, held(api, user, question, button(question, "🙂"))


async def answers(a: Replica) -> int:
    row = await a.rt.db.fetchone("SELECT count(*) FROM answers")
    assert row is not None
    return int(row[0])


async def revision(a: Replica) -> int:
    row = await a.rt.db.fetchone("SELECT max(revision) FROM sessions")
    assert row is not None
    return int(row[0])


async def test_a_double_tap_on_two_replicas_at_once_is_one_step(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    user, question = await staff_at_question(a)
    before = await revision(a)
    fake_api.set_webhook_targets([])  # the test posts these two itself, at once
    first = held(fake_api, user, question, button(question, "🙂"))
    second = held(fake_api, user, question, button(question, "🙂"))
    statuses = await asyncio.gather(post(a.url, first), post(b.url, second))
    assert statuses == [200, 200]
    assert await answers(a) == 1
    assert await revision(a) == before + 1
    assert "2/5" in fake_api.message(user.id, question.message_id).text


async def test_one_update_posted_to_two_replicas_at_once_is_applied_once(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    _user, _question, update = await a_held_press(fake_api, a)
    statuses = await asyncio.gather(post(a.url, update), post(b.url, update))
    assert 200 in statuses and set(statuses) <= {200, 503}
    assert await answers(a) == 1
    # Whichever answered 503 gets it again and now acknowledges it unapplied.
    assert await post(b.url, update) == 200 and await post(a.url, update) == 200
    assert await answers(a) == 1


async def test_a_crash_after_the_commit_before_done_steps_once(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    user, question, update = await a_held_press(fake_api, a)
    assert await post(a.url, update) == 200
    # As if replica a died after the answer's commit, before the ledger's "done":
    await a.rt.db.execute(
        "UPDATE update_claims SET state = 'working', lease_until = claimed_at WHERE update_id = ?",
        (update["update_id"],),
    )
    assert await post(b.url, update) == 200  # the lease is over: b takes it over
    assert await answers(a) == 1
    screen = fake_api.message(user.id, question.message_id)
    assert "2/5" in screen.text
    # And the dialog goes on from there to its end.
    fake_api.set_webhook_targets([a.url, b.url])
    for _ in range(4):
        screen = fake_api.message(user.id, question.message_id)
        await a.press(user, screen, button(screen, "😀"))
    assert await answers(a) == 5
    row = await a.rt.db.fetchone("SELECT count(*) FROM sessions WHERE status = 'done'")
    assert row is not None and row[0] == 1
