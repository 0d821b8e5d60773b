"""No log line holds the bot token, a service user's Telegram id, or what anyone wrote.

Logging is set up exactly as `carecheck run` does, at DEBUG, the most talkative
level an operator can choose; then the usual things happen (joining, check-ins
with comments, anonymous feedback, /privacy and /forget, faults, a group, forged
buttons) and the captured text is searched.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from bot.infra.logs import setup_logging
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness, button

STAFF_COMMENT = "Nights with Mia Novak are too long"
GUEST_TEXT = "Ana from room 12 was kind to me"


@pytest.fixture
def captured(fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The log as `carecheck run` writes it to standard error, at DEBUG."""
    buffer = io.StringIO()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    saved = (root.handlers[:], root.level, [(lg, lg.level) for lg in loggers])
    monkeypatch.setattr(sys, "stderr", buffer)
    setup_logging("DEBUG", fake_api.token)
    try:
        yield buffer
    finally:
        root.handlers[:], level, levels = saved
        root.setLevel(level)
        for logger, old in levels:
            logger.setLevel(old)
        for name in ("telegram", "aiosqlite"):
            logging.getLogger(name).setLevel(logging.NOTSET)


async def test_the_log_keeps_no_secrets_and_no_words(captured: io.StringIO, bot: Harness) -> None:
    org = await bot.org()
    staff = bot.user("Mia")
    welcome = await bot.command(staff, "/start", await bot.invite(org, "staff"))
    await bot.press(staff, welcome, button(welcome, "▶ Start now"))
    question = bot.api.message(staff.id, welcome.message_id)
    bot.api.inject_fault("502", "editMessageText", times=3)  # an error with a traceback
    await bot.press(staff, question, button(question, "😞"))
    await bot.press(staff, question, button(question, "😞"), check=False)
    bot.api.inject_fault("429", "sendMessage")
    await bot.text(staff, STAFF_COMMENT)
    await bot.command(staff, "/privacy")

    guest = bot.user("Guest")
    bot.api.send_command(guest, "/start", await bot.invite(org, "service_user"))
    found = await bot.settle(lambda: [m for m in bot.api.messages(guest.id) if "1/8" in m.text])
    for label in ["🙂"] * 7 + ["💡"]:
        current = bot.api.message(guest.id, found[-1].message_id)
        await bot.press(guest, current, button(current, label))
    await bot.text(guest, GUEST_TEXT)
    bot.api.send_sticker(guest)
    await bot.press(guest, found[-1], "1:a:1:0:0", check=False)  # someone else's session
    await bot.command(guest, "/privacy")
    kept = await bot.command(guest, "/forget")  # only the mark that they answered is left
    assert kept.buttons == [] and "kept until" in kept.text
    group = bot.api.add_group()
    bot.api.send_text(guest, GUEST_TEXT, chat=group)
    await bot.settle(lambda: not bot.api.chat(group["id"]).member)

    log = captured.getvalue()
    assert "carecheck is running" in log and "update" in log  # the capture works
    assert bot.api.token not in log
    assert bot.api.token.split(":")[1] not in log
    assert str(guest.id) not in log
    for text in (STAFF_COMMENT, GUEST_TEXT, "Mia Novak", "room 12"):
        assert text not in log, text
