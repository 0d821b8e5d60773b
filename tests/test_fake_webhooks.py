"""The fake Bot API's webhook delivery: Telegram's headers, redelivery and order per chat."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from tests.fakebotapi.server import FakeBotAPI
from tests.fakebotapi.webhook_delivery import SECRET_HEADER

URL = "https://bot.example.org/hook"


class Receiver:
    """A stand-in replica: records what it is posted and answers as told."""

    def __init__(self, answer: Callable[[dict[str, Any]], int] = lambda _: 200) -> None:
        self.answer = answer
        self.received: list[tuple[int, str | None]] = []  # update id, secret header
        self.hang = False
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.received.append((update["update_id"], request.headers.get(SECRET_HEADER)))
        if self.hang:
            await asyncio.sleep(30)
        return web.Response(status=self.answer(update))

    @property
    def ids(self) -> list[int]:
        return [update_id for update_id, _ in self.received]


@pytest_asyncio.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started = [Receiver(), Receiver()]
    for receiver in started:
        await receiver.start()
    yield started
    for receiver in started:
        await receiver.stop()


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    fake_api.webhook_retry_delay = 0.05
    async with telegram.Bot(**fake_api.bot_kwargs()) as bot:
        yield bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_updates_are_posted_round_robin_with_the_secret(
    fake_api: FakeBotAPI, bot: telegram.Bot, receivers: list[Receiver]
) -> None:
    fake_api.set_webhook_targets([r.url for r in receivers])
    await bot.set_webhook(URL, secret_token="s3cret_TOKEN-1", max_connections=5)
    people = [fake_api.new_user(f"P{i}") for i in range(4)]
    for person in people:
        fake_api.send_text(person, "hello")
    await fake_api.wait_for(lambda: len(fake_api.acknowledged) == 4)
    assert sorted(receivers[0].ids + receivers[1].ids) == [1, 2, 3, 4]
    assert len(receivers[0].ids) == len(receivers[1].ids) == 2
    assert {secret for r in receivers for _, secret in r.received} == {"s3cret_TOKEN-1"}
    info = await bot.get_webhook_info()
    assert info.url == URL and info.pending_update_count == 0 and info.max_connections == 5
    with pytest.raises(Conflict):
        await bot.get_updates()


async def test_a_failed_update_comes_again_and_holds_back_its_chat(
    fake_api: FakeBotAPI, bot: telegram.Bot, receivers: list[Receiver]
) -> None:
    failures = {1: 2}  # update 1 fails twice

    def answer(update: dict[str, Any]) -> int:
        left = failures.get(update["update_id"], 0)
        failures[update["update_id"]] = left - 1
        return 500 if left > 0 else 200

    receivers[0].answer = answer
    fake_api.deliver_to(receivers[0].url)
    await bot.set_webhook(URL)
    ana, bo = fake_api.new_user("Ana"), fake_api.new_user("Bo")
    fake_api.send_text(ana, "first")
    fake_api.send_text(ana, "second")
    fake_api.send_text(bo, "other chat")
    await fake_api.wait_for(lambda: len(fake_api.acknowledged) == 3)
    assert receivers[0].ids.count(1) == 3
    # Ana's second waited for her first; Bo's did not wait for Ana's.
    assert receivers[0].ids.index(2) > max(i for i, u in enumerate(receivers[0].ids) if u == 1)
    assert receivers[0].ids.index(3) < receivers[0].ids.index(2)
    assert fake_api.acknowledged.index(1) < fake_api.acknowledged.index(2)
    assert [a.status for a in fake_api.attempts_for(1)] == [500, 500, 200]
    assert receivers[1].received == []
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500"


async def test_a_refused_connection_or_a_timeout_is_redelivered(
    fake_api: FakeBotAPI, bot: telegram.Bot, receivers: list[Receiver]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    fake_api.set_webhook_targets([dead, receivers[0].url])
    await bot.set_webhook(URL)
    fake_api.send_text(fake_api.new_user("Ana"), "hi")
    await fake_api.wait_for(lambda: fake_api.acknowledged == [1])
    first, second = fake_api.attempts_for(1)
    assert (first.target, first.status) == (dead, None) and "Connect" in (first.error or "")
    assert (second.target, second.status) == (receivers[0].url, 200)

    fake_api.webhook_timeout = 0.2
    receivers[1].hang = True
    fake_api.deliver_to(receivers[1].url)
    fake_api.send_text(fake_api.new_user("Bo"), "hi")
    await fake_api.wait_for(lambda: len(fake_api.attempts_for(2)) >= 2, timeout=5)
    assert all(a.status is None for a in fake_api.attempts_for(2))
    receivers[1].hang = False
    await fake_api.wait_for(lambda: fake_api.acknowledged == [1, 2], timeout=5)
    assert receivers[1].ids.count(2) >= 3


async def test_set_webhook_checks_like_telegram(fake_api: FakeBotAPI, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https"):
        await bot.set_webhook("http://bot.example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook(URL, secret_token="no spaces")
    fake_api.send_text(fake_api.new_user("Ana"), "waits")
    await bot.set_webhook(URL)  # no backend: nothing delivered, the update waits
    await asyncio.sleep(0.1)
    assert fake_api.webhook_attempts == []
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert [u.update_id for u in await bot.get_updates()] == [1]
