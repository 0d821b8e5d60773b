"""Crash suite: the bot process is SIGKILLed at random moments while 100 people answer.

The bot runs as `carecheck run` in its own process against the fake Bot API. It is
killed without warning at least five times, mid-dialog, and started again each time.
At the end every person has finished, every answer a person saw accepted (the next
question was shown) is in the database exactly once, and each session's stored state
agrees with its answer rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crowd import BotProcess, Catalogue, Crowd, answer_through_kills, audit, populate
from tests.fakebotapi.server import FakeBotAPI

pytestmark = pytest.mark.slow  # a long suite: `pytest -m 'not slow'` leaves it out

STAFF = 60
SERVICE_USERS = 40
KILLS = 6


async def test_killed_bot_loses_and_doubles_nothing(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    people = await populate(tmp_path / "carecheck.db", fake_api, STAFF, SERVICE_USERS, seed=1)
    catalogue = Catalogue.load()
    bot = BotProcess(fake_api, tmp_path)
    crowd = Crowd(fake_api, people, catalogue, patience=4.0, think=(0.02, 0.3), seed=1)
    # Kill points spread over the run by progress, each at a random moment after it.
    status = await answer_through_kills(
        bot,
        crowd,
        kills=KILLS,
        seed=1,
        spread=(0.05, 0.8),
        delay=0.2,
        progress_timeout=120,
        finish_timeout=180,
    )
    assert status == 0
    assert bot.kills == KILLS

    result = audit(bot.db_path, people, catalogue)
    assert result.problems == []
    assert result.finished == len(people)
    assert result.completed == result.sessions == len(people)
    assert result.acknowledged == result.stored > len(people) * 4
    assert result.duplicates == 0
    # A press handed over again after a kill may repeat an edit or answer that had
    # already happened (Telegram refuses those); the bot must cause no other error.
    _, errors = bot.deliveries.errors()
    assert errors == []

    # The process's own log: no token, no service user's Telegram id, no comment text.
    log = bot.log_path.read_text(errors="replace")
    assert fake_api.token not in log
    for person in people:
        if person.audience == "service_user":
            assert str(person.user.id) not in log
        for ack in person.acks:
            if ack.kind != "answer":
                assert str(ack.value) not in log
