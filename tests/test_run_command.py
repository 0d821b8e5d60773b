"""`carecheck run` as its own process: no token, long polling, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.cli.main import main
from bot.infra.i18n import translator
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI

CLOCK = FakeClock()


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "x.db"))
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "@BotFather" in err[0] and "carecheck console" in err[0]


def test_a_bad_setting_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token")
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "x.db"))
    assert main(["run"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


async def test_long_polling_then_sigterm_exits_cleanly(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "CARECHECK_DB": str(tmp_path / "bot.db"),
        "CARECHECK_SECRET_FILE": str(tmp_path / "bot.secret"),
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_base_url,
        "TELEGRAM_FILE_URL": fake_api.file_base_url,
        "CARECHECK_LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-jobs",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake_api.wait_for(lambda: fake_api.calls_to("getUpdates"), timeout=30)
        user = fake_api.new_user("Zoe", language_code="cs")
        fake_api.add_private_chat(user)
        fake_api.send_command(user, "/help")
        reply = await fake_api.wait_for_message(user.id, timeout=15)
        assert reply.text.startswith(
            translator("cs")("carecheck asks short questions about the quality of our service.")
        )
        # The menu, per language: someone without a role sees only what they may use.
        menu = fake_api.commands_for({"type": "default"}, "sl")
        assert [c["command"] for c in menu] == ["language", "privacy", "forget", "help"]
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    log = stderr.decode()
    assert "carecheck is running" in log
    assert fake_api.token not in log
    assert fake_api.token.split(":")[1] not in log
    fake_api.assert_no_errors()


async def test_webhook_mode(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    import socket

    import aiohttp

    from bot.infra.config import load_settings
    from bot.services.runtime import open_runtime
    from bot.telegram.app import Webhook, build_application, serve

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(
        env={
            "CARECHECK_DB": str(tmp_path / "w.db"),
            "TELEGRAM_BOT_TOKEN": fake_api.token,
            "TELEGRAM_API_URL": fake_api.api_base_url,
            "TELEGRAM_FILE_URL": fake_api.file_base_url,
        }
    )
    hook = Webhook("https://bot.example.org/hook/abc", "127.0.0.1", port, "s3cret-token")
    stop = asyncio.Event()
    async with open_runtime(settings, CLOCK) as runtime:
        task = asyncio.create_task(serve(build_application(runtime, run_jobs=False), stop, hook))
        try:
            await fake_api.wait_for(lambda: fake_api.webhook, timeout=20)
            assert fake_api.webhook["url"] == hook.url
            user = fake_api.new_user("Web", language_code="lt")
            fake_api.add_private_chat(user)
            fake_api.send_command(user, "/help")
            update = fake_api.pending_updates.pop()  # delivered by webhook here, not by getUpdates
            for _ in range(100):  # listening before the webhook is set, but be sure
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/hook/abc"
                wrong = await http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
                )
                assert wrong.status == 403
                right = await http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": hook.secret}
                )
                assert right.status == 200
            # Acknowledged once applied: the reply was sent before the 200.
            reply = fake_api.last_message(user.id)
            assert reply is not None
            assert reply.text.startswith(
                translator("lt")("carecheck asks short questions about the quality of our service.")
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
    fake_api.assert_no_errors()
