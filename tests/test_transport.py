"""AiohttpRequest behaves like PTB's HTTPXRequest: same bodies, same errors, same timeouts."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import telegram
from aiohttp import web
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, ApplicationBuilder, MessageHandler, filters
from telegram.request import RequestData

from bot.infra.transport import POOL_TIMEOUT_MESSAGE, AiohttpRequest, build_requests
from tests.fakebotapi import FakeBotAPI, User

pytest_plugins = ["tests.fakebotapi.fixtures"]

TOKEN = "123456789:TEST-fake-token-for-carecheck"


@pytest_asyncio.fixture
async def silent_url() -> AsyncIterator[str]:
    """The base URL of a server that accepts requests and never answers them."""

    async def never_answer(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", never_answer)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    """An initialised transport with default settings."""
    transport = AiohttpRequest()
    async with transport:
        yield transport


def make_bot(server: FakeBotAPI, **request_kwargs: float) -> telegram.Bot:
    """A PTB bot on AiohttpRequest pointed at the fake server."""
    return telegram.Bot(
        **server.bot_kwargs(),
        request=AiohttpRequest(**request_kwargs),  # type: ignore[arg-type]
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


async def test_a_normal_call_returns_status_and_body(
    fake_api: FakeBotAPI, request_: AiohttpRequest
) -> None:
    status, body = await request_.do_request(
        f"{fake_api.api_base_url}{fake_api.token}/getMe", "POST"
    )
    assert status == 200
    assert request_.parse_json_payload(body)["result"]["username"] == "carecheck_test_bot"

    result = await request_.post(f"{fake_api.api_base_url}{fake_api.token}/getMe")
    assert isinstance(result, dict) and result["is_bot"] is True


async def test_parameters_go_out_as_ptb_encodes_them(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    async with make_bot(fake_api) as bot:
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Ja ✓", callback_data="a:1")]]
        )
        sent = await bot.send_message(
            fake_api_user.id, "Živjo & <b>dan</b>", reply_markup=markup, disable_notification=True
        )
    assert sent.text == "Živjo & <b>dan</b>"
    (call,) = fake_api.calls_to("sendMessage")
    assert call["chat_id"] == str(fake_api_user.id)
    assert call["disable_notification"] == "true"
    assert fake_api.last_message(fake_api_user.id).callback_data == ["a:1"]  # type: ignore[union-attr]
    fake_api.assert_no_errors()


async def test_multipart_upload_arrives_byte_exact(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    payload = bytes(range(256)) * 64 + b"\r\n--boundary--\r\n"
    async with make_bot(fake_api) as bot:
        sent = await bot.send_document(
            fake_api_user.id,
            payload,
            filename="poročilo ü.csv",
            caption="<b>Weekly</b> digest",
            parse_mode="HTML",
        )
        from_handle = await bot.send_document(
            fake_api_user.id, io.BytesIO(b"second file"), filename="b.txt"
        )
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()

    stored = fake_api.files[sent.document.file_id]
    assert stored.data == payload
    assert stored.file_name == "poročilo ü.csv"
    assert stored.mime_type == "text/csv"
    assert bytes(downloaded) == payload
    assert fake_api.files[from_handle.document.file_id].data == b"second file"
    assert sent.caption == "Weekly digest" and sent.caption_entities[0].type == "bold"
    (call, _) = fake_api.calls_to("sendDocument")
    assert call["document"]["size"] == len(payload)
    fake_api.assert_no_errors()


async def test_photo_upload(fake_api: FakeBotAPI, fake_api_user: User) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x80\x00\x00\x01\xe0" + b"\x00" * 32
    async with make_bot(fake_api) as bot:
        sent = await bot.send_photo(fake_api_user.id, png, caption="Chart")
    assert (sent.photo[0].width, sent.photo[0].height) == (640, 480)
    assert fake_api.files[sent.photo[0].file_id].data == png


async def test_dropped_connection_is_a_network_error(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    fake_api.inject_fault("drop", "sendMessage")
    async with make_bot(fake_api) as bot:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(fake_api_user.id, "lost")
        assert not isinstance(caught.value, TimedOut)
        assert fake_api.token not in str(caught.value)
        # The pool recovers: the next call goes through on a fresh connection.
        await bot.send_message(fake_api_user.id, "next")
    assert fake_api.fault_counts["drop"] == 1
    assert [m.text for m in fake_api.messages(fake_api_user.id)] == ["next"]


async def test_refused_connection_is_a_network_error_without_the_token() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest() as transport:
        with pytest.raises(NetworkError) as caught:
            await transport.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_server_that_never_answers_times_out(silent_url: str) -> None:
    async with AiohttpRequest(read_timeout=0.2) as transport:
        with pytest.raises(TimedOut) as caught:
            await transport.post(f"{silent_url}/bot{TOKEN}/getMe")
        assert TOKEN not in str(caught.value)
    # A per-call read timeout overrides the default, as in PTB's bot methods.
    async with AiohttpRequest(read_timeout=None) as transport:
        with pytest.raises(TimedOut):
            await transport.post(f"{silent_url}/bot{TOKEN}/getMe", read_timeout=0.2)


async def test_upload_to_a_server_that_never_answers_times_out(silent_url: str) -> None:
    transport = AiohttpRequest(read_timeout=0.2, media_write_timeout=0.1, connect_timeout=0.1)
    data = RequestData(
        [
            telegram.request._requestparameter.RequestParameter.from_input(
                "document", telegram.InputFile(b"x" * 1000, filename="a.bin")
            )
        ]
    )
    assert data.contains_files
    async with transport:
        with pytest.raises(TimedOut):
            await transport.post(f"{silent_url}/bot{TOKEN}/sendDocument", data)


async def test_a_full_pool_raises_the_pool_timeout(silent_url: str) -> None:
    async with AiohttpRequest(
        connection_pool_size=1, pool_timeout=0.1, read_timeout=None
    ) as transport:
        hanging = asyncio.create_task(transport.post(f"{silent_url}/bot{TOKEN}/getMe"))
        await asyncio.sleep(0)  # let it take the only slot
        with pytest.raises(TimedOut) as caught:
            await transport.post(f"{silent_url}/bot{TOKEN}/getMe")
        assert caught.value.message == POOL_TIMEOUT_MESSAGE
        hanging.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hanging


async def test_long_poll_adds_the_poll_time_to_the_read_timeout(fake_api: FakeBotAPI) -> None:
    polling = AiohttpRequest(connection_pool_size=1, read_timeout=0.2)
    assert polling.read_timeout == 0.2
    bot = telegram.Bot(
        **fake_api.bot_kwargs(), request=AiohttpRequest(), get_updates_request=polling
    )
    async with bot:
        assert await bot.get_updates(timeout=1) == ()


async def test_429_raises_retry_after(fake_api: FakeBotAPI, fake_api_user: User) -> None:
    fake_api.inject_fault("429", "sendMessage", retry_after=7)
    async with make_bot(fake_api) as bot:
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(fake_api_user.id, "too fast")
    assert fake_api.messages(fake_api_user.id) == []


async def test_rate_limiter_retries_a_429_and_returns_normally(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    rule = fake_api.inject_fault("429", "sendMessage", retry_after=1)
    app = (
        ApplicationBuilder()
        .token(fake_api.token)
        .base_url(fake_api.api_base_url)
        .base_file_url(fake_api.file_base_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    async with app:
        sent = await app.bot.send_message(fake_api_user.id, "eventually")
    assert sent.text == "eventually"
    assert rule.fired == 1
    assert len(fake_api.calls_to("sendMessage")) == 2
    assert [m.text for m in fake_api.messages(fake_api_user.id)] == ["eventually"]
    fake_api.assert_no_errors()


async def test_lifecycle(fake_api: FakeBotAPI) -> None:
    transport = AiohttpRequest()
    url = f"{fake_api.api_base_url}{fake_api.token}/getMe"
    with pytest.raises(NetworkError, match="not initialized"):
        await transport.post(url)
    await transport.initialize()
    await transport.initialize()
    await transport.post(url)
    await transport.shutdown()
    await transport.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):
        await transport.post(url)
    async with transport:  # PTB may initialise again after a shutdown
        await transport.post(url)


async def test_no_token_in_logs(
    fake_api: FakeBotAPI, fake_api_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.inject_fault("drop", "sendMessage")
    fake_api.inject_fault("502", "sendMessage", json_body=True)
    async with make_bot(fake_api) as bot:
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.send_message(fake_api_user.id, "x")
        await bot.send_message(fake_api_user.id, "ok")
    # PTB's own Bot logs its base URL, token included, once at DEBUG when it is
    # created; everything on the request path must stay clean.
    request_path = [r for r in caplog.records if r.name != "telegram.Bot"]
    assert any(r.name.startswith("telegram.") for r in caplog.records)
    secret = fake_api.token.split(":", 1)[1]
    assert not [r.getMessage() for r in request_path if secret in r.getMessage()]
    assert not [r for r in caplog.records if secret in str(r.exc_info)]


async def test_build_requests_plugs_into_a_polling_application(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    main, polling = build_requests()
    assert (main.connection_pool_size, polling.connection_pool_size) == (256, 1)
    app = (
        ApplicationBuilder()
        .token(fake_api.token)
        .base_url(fake_api.api_base_url)
        .base_file_url(fake_api.file_base_url)
        .request(main)
        .get_updates_request(polling)
        .build()
    )

    async def echo(update: telegram.Update, context: object) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text.upper())

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        try:
            fake_api.send_text(fake_api_user, "hello")
            reply = await fake_api.wait_for_message(fake_api_user.id, timeout=10)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply.text == "HELLO"
    fake_api.assert_no_errors()
