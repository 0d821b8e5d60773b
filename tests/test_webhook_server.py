"""The webhook endpoint: acknowledged once applied, hostile posts refused, failures redelivered."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.infra.i18n import translator
from bot.telegram import start_handlers
from storage.db import Database
from storage.update_claims import UpdateClaims
from tests.fake_clock import FakeClock
from tests.fakebotapi.models import User
from tests.fakebotapi.server import FakeBotAPI
from tests.fakebotapi.webhook_delivery import SECRET_HEADER
from tests.replica_harness import SECRET, Replica

HELP = translator("en")("carecheck asks short questions about the quality of our service.")


@pytest_asyncio.fixture
async def replica(
    fake_api: FakeBotAPI, tmp_path: Path, shared_database: str | None
) -> AsyncIterator[Replica]:
    fake_api.webhook_retry_delay = 0.05
    started = Replica(fake_api, tmp_path, FakeClock(), shared_database)
    await started.start()
    yield started
    await started.stop()


def queued(api: FakeBotAPI, user: Any, command: str) -> dict[str, Any]:
    """Queue a command and return the update as Telegram will post it."""
    api.send_command(user, command)
    return dict(api.pending_updates[-1])


async def post(url: str, body: Any, secret: str | None = SECRET, **kw: Any) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http:
        if isinstance(body, bytes):
            response = await http.post(url, data=body, headers=headers, **kw)
        else:
            response = await http.post(url, json=body, headers=headers, **kw)
        return response.status


async def help_delivered(api: FakeBotAPI, replica: Replica) -> User:
    """Someone's /help, delivered to the replica until acknowledged; who it was."""
    user = replica.user("Ana")
    api.set_webhook_targets([replica.url])
    api.send_command(user, "/help")
    await api.wait_for(lambda: api.acknowledged, timeout=10)
    return user


async def test_an_update_is_acknowledged_only_after_its_reply(
    fake_api: FakeBotAPI, replica: Replica
) -> None:
    assert fake_api.webhook is not None and fake_api.webhook["secret_token"] == SECRET
    user = replica.user("Ana")
    fake_api.set_webhook_targets([replica.url])
    fake_api.send_command(user, "/help")
    await fake_api.wait_for(lambda: fake_api.acknowledged)
    # At the moment Telegram saw the 200, the answer had been sent already.
    reply = fake_api.last_message(user.id)
    assert reply is not None and reply.text.startswith(HELP)
    assert [a.status for a in fake_api.webhook_attempts] == [200]
    fake_api.assert_no_errors()


async def test_hostile_posts_are_refused_and_the_endpoint_goes_on(
    fake_api: FakeBotAPI, replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    user = replica.user("Ana")
    update = queued(fake_api, user, "/help")
    caplog.set_level(logging.INFO)
    assert await post(replica.url, update, secret=None) == 403
    assert await post(replica.url, update, secret="wrong") == 403
    assert "wrong or missing secret token" in caplog.text
    assert await post(replica.url, b"not json {") == 400
    assert await post(replica.url, b"x" * (2 * 1024 * 1024)) == 400
    assert await post(replica.url, [1, 2]) == 400
    assert await post(replica.url, {"update_id": "7"}) == 400
    assert await post(replica.url, {"update_id": 7, "message": {"chat": "x"}}) == 400
    assert fake_api.messages(user.id) == []
    assert "Traceback" not in caplog.text
    fake_api.set_webhook_targets([replica.url])
    reply = await fake_api.wait_for_message(user.id, after=0, timeout=10)
    assert reply.text.startswith(HELP)


async def test_a_failed_update_answers_500_and_is_applied_on_redelivery(
    fake_api: FakeBotAPI, replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = start_handlers.commands_for
    failures = [RuntimeError("the database went away for a moment")]

    def flaky(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(*args)

    monkeypatch.setattr(start_handlers, "commands_for", flaky)
    user = await help_delivered(fake_api, replica)
    assert [a.status for a in fake_api.attempts_for(1)] == [500, 200]
    assert any(m.text.startswith(HELP) for m in fake_api.messages(user.id))
    assert await UpdateClaims(replica.rt.db).claim(1, timedelta(minutes=2)) == "done"


async def test_a_redelivered_update_is_applied_once(fake_api: FakeBotAPI, replica: Replica) -> None:
    user = replica.user("Ana")
    update = queued(fake_api, user, "/help")
    fake_api.set_webhook_targets([replica.url])
    await fake_api.wait_for(lambda: fake_api.acknowledged)
    assert len(fake_api.messages(user.id)) == 1
    # Telegram posts it again (our 200 was lost on the way): acknowledged, not applied.
    assert await post(replica.url, update) == 200
    await asyncio.sleep(0.2)
    assert len(fake_api.messages(user.id)) == 1


async def test_a_claim_held_by_a_live_replica_waits_and_a_dead_ones_is_taken_over(
    fake_api: FakeBotAPI, replica: Replica
) -> None:
    clock = replica.clock
    user = replica.user("Ana")
    # Another replica on the same file claimed update 1, then died.
    other = await Database.open(replica.settings.database, clock=clock)
    try:
        assert await UpdateClaims(other).claim(1, timedelta(minutes=2)) == "apply"
    finally:
        await other.close()
    fake_api.send_command(user, "/help")
    fake_api.set_webhook_targets([replica.url])
    await fake_api.wait_for(lambda: len(fake_api.attempts_for(1)) >= 2, timeout=10)
    assert {a.status for a in fake_api.attempts_for(1)} == {503}
    assert fake_api.messages(user.id) == []
    clock.advance(minutes=2)  # its lease ran out
    await fake_api.wait_for(lambda: fake_api.acknowledged == [1], timeout=10)
    assert fake_api.attempts_for(1)[-1].status == 200
    assert len(fake_api.messages(user.id)) == 1


async def test_a_database_away_answers_503_and_the_update_comes_again(
    fake_api: FakeBotAPI, replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = replica.rt.updates
    real = ledger.begin
    failures = [sqlite3.OperationalError("database is locked")]

    async def flaky(update_id: int) -> Any:
        if failures:
            raise failures.pop()
        return await real(update_id)

    monkeypatch.setattr(ledger, "begin", flaky)
    user = await help_delivered(fake_api, replica)
    assert [a.status for a in fake_api.attempts_for(1)] == [503, 200]
    assert len(fake_api.messages(user.id)) == 1


async def test_a_failed_set_webhook_is_tried_again_and_the_port_reused(
    fake_api: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.telegram import app

    monkeypatch.setattr(app, "FIRST_RETRY", 0.1)
    failed = fake_api.inject_fault("502", "setWebhook", times=3)  # one call and its retries
    replica = Replica(fake_api, tmp_path, FakeClock())
    await replica.start()
    try:
        await fake_api.wait_for(lambda: fake_api.webhook, timeout=20)
        assert failed.fired == 3
        user = replica.user("Ana")
        fake_api.set_webhook_targets([replica.url])
        fake_api.send_command(user, "/help")
        reply = await fake_api.wait_for_message(user.id, after=0, timeout=10)
        assert reply.text.startswith(HELP)
    finally:
        await replica.stop()
