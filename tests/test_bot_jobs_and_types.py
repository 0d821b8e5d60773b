"""Scheduled check-ins and reminders with an injected clock; every question type on Telegram."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bot.infra.i18n import translator
from bot.services.runtime import open_runtime
from bot.telegram.app import build_application
from bot.telegram.jobs import Scheduler
from tests.fake_clock import FakeClock
from tests.fakebotapi.models import StoredMessage, User
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness, button

T = translator("en")
MONDAY_0800_UTC = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Ljubljana


async def staff(bot: Harness, org: int, count: int) -> list[User]:
    code = await bot.invite(org, "staff")
    users = []
    for i in range(count):
        user = bot.user(f"Staff{i}")
        await bot.command(user, "/start", code)
        users.append(user)
    return users


def scheduler(bot: Harness) -> Scheduler:
    assert bot.app is not None
    assert bot.app.bot_data.scheduler is not None
    return bot.app.bot_data.scheduler


def invitations(bot: Harness, user: User) -> list[StoredMessage]:
    ready = T("Your weekly check-in is ready. It takes about a minute.")
    reminder = T("A gentle reminder: your weekly check-in is still open. It takes about a minute.")
    return [m for m in bot.api.messages(user.id) if m.text in (ready, reminder)]


async def test_weekly_pulse_reminder_and_snooze(bot: Harness) -> None:
    org = await bot.org()
    alice, bob = await staff(bot, org, 2)
    jobs = scheduler(bot)

    early = await jobs.run_due(MONDAY_0800_UTC - timedelta(minutes=1))
    assert early.pulses == 0
    due = await jobs.run_due(MONDAY_0800_UTC)
    assert due.pulses == 2
    again = await jobs.run_due(MONDAY_0800_UTC + timedelta(hours=1))  # a restart, a second tick
    assert again.pulses == 0
    assert [len(invitations(bot, u)) for u in (alice, bob)] == [1, 1]

    # Alice answers; Bob asks to be reminded later.
    invite = invitations(bot, alice)[0]
    bot.clock.now = MONDAY_0800_UTC + timedelta(minutes=5)
    await bot.press(alice, invite, button(invite, T("▶ Start now")))
    question = await bot.settle(
        lambda: next((m for m in bot.api.messages(alice.id) if "1/5" in (m.text or "")), None)
    )
    for _ in range(5):
        screen = bot.api.message(alice.id, question.message_id)
        await bot.press(alice, screen, button(screen, "🙂"))
    bob_invite = invitations(bot, bob)[0]
    await bot.press(bob, bob_invite, button(bob_invite, T("⏰ Remind me later")))
    assert invitations(bot, bob) == []  # the invitation now says when it will come back

    not_yet = await jobs.run_due(bot.clock.now + timedelta(hours=2))
    assert not_yet.snoozes == 0
    snoozed = await jobs.run_due(bot.clock.now + timedelta(hours=3, minutes=1))
    assert snoozed.snoozes == 1
    assert len(invitations(bot, bob)) == 1

    reminders = await jobs.run_due(MONDAY_0800_UTC + timedelta(days=2))
    assert reminders.reminders == 1  # Bob only: Alice has answered this week
    assert invitations(bot, alice) == []  # started from it: it became her check-in
    assert len(invitations(bot, bob)) == 2
    assert (await jobs.run_due(MONDAY_0800_UTC + timedelta(days=2, hours=1))).reminders == 0


async def test_catch_up_after_downtime_and_stop(bot: Harness) -> None:
    org = await bot.org()
    (carla,) = await staff(bot, org, 1)
    stopped = await bot.command(carla, "/stop")
    assert stopped.text.startswith(T("You will get no more weekly check-ins."))
    (dan,) = await staff(bot, org, 1)
    # The bot was down on Monday morning: the first tick on Tuesday sends the pulse.
    report = await scheduler(bot).run_due(MONDAY_0800_UTC + timedelta(days=1))
    assert report.pulses == 1
    assert invitations(bot, carla) == []
    assert len(invitations(bot, dan)) == 1


async def test_bulk_invitations_stay_within_telegrams_rate(bot: Harness) -> None:
    org = await bot.org()
    users = await staff(bot, org, 40)
    # Telegram's 30 a second, sustained. The burst allows for sends the bot spaced out
    # arriving together after a stall of this busy test process (seen in CI under load);
    # a sender that ignored the rate would still run past it within two seconds.
    bot.api.enforce_rate_limits(global_burst=45.0)
    report = await scheduler(bot).run_due(MONDAY_0800_UTC)
    assert report.pulses == 40
    assert bot.api.rate_limited == []
    assert all(len(invitations(bot, u)) == 1 for u in users)


ALL_TYPES = {
    "id": "staff-pulse",
    "audience": "staff",
    "languages": ["en"],
    "title": {"en": "Every type"},
    "thanks": {"en": "Thank you <3 & goodbye"},
    "scales": {
        "a3": {
            "options": [
                {"value": 1, "emoji": "😞", "label": {"en": "Low"}},
                {"value": 2, "emoji": "😐", "label": {"en": "Mid"}},
                {"value": 3, "emoji": "😀", "label": {"en": "High <b>"}},
            ],
            "not_applicable": {"en": "N/A"},
        }
    },
    "sections": [
        {
            "id": "all",
            "maps_to": {"equass": ["rights"]},
            "questions": [
                {"id": "q_scale", "type": "scale", "scale": "a3", "text": {"en": "Scale & co?"}},
                {"id": "q_yes", "type": "yes_no", "text": {"en": "Yes or no?"}},
                {
                    "id": "q_choice",
                    "type": "choice",
                    "text": {"en": "Which shift?"},
                    "options": [
                        {"value": "day", "label": {"en": "Day"}},
                        {"value": "night", "label": {"en": "Night"}},
                    ],
                },
                {
                    "id": "q_multi",
                    "type": "multi",
                    "text": {"en": "Which apply?"},
                    "show_if": {"question": "q_choice", "eq": "night"},
                    "options": [
                        {"value": "tired", "label": {"en": "Tired"}},
                        {"value": "alone", "label": {"en": "Alone"}},
                        {"value": "fine", "label": {"en": "Fine"}},
                    ],
                },
                {"id": "q_nps", "type": "nps", "text": {"en": "Recommend us?"}},
                {"id": "q_text", "type": "text", "max_length": 50, "text": {"en": "Anything?"}},
            ],
        }
    ],
}


async def test_every_question_type_over_telegram(bot: Harness) -> None:
    org = await bot.org()
    text = yaml.safe_dump(ALL_TYPES, allow_unicode=True, sort_keys=False)
    validation = bot.rt.scripts.validate(text, "all-types.yaml")
    assert validation.script is not None, validation.errors
    await bot.rt.scripts.publish(validation.script, text, "yaml", org, None)
    (user,) = await staff(bot, org, 1)
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_command(user, "/checkin")
    question = await bot.settle(
        lambda: next(
            (
                m
                for m in bot.api.messages(user.id)
                if m.message_id > after and "1/" in (m.text or "")
            ),
            None,
        )
    )
    assert "Scale &amp; co?" not in question.text  # escaped for HTML, shown as "&"
    assert "Scale & co?" in question.text
    assert "😀 High <b>" in question.button_texts

    def screen() -> StoredMessage:
        return bot.api.message(user.id, question.message_id)

    await bot.press(user, screen(), button(screen(), "N/A"))
    await bot.press(user, screen(), button(screen(), T("Not sure")))
    await bot.press(user, screen(), button(screen(), "Night"))
    assert "Which apply?" in screen().text  # shown because the shift was "night"
    await bot.press(user, screen(), button(screen(), "☐ Tired"))
    assert "☑ Tired" in screen().button_texts
    await bot.press(user, screen(), button(screen(), "☐ Fine"))
    await bot.press(user, screen(), button(screen(), T("Done ✓")))
    await bot.press(user, screen(), button(screen(), "9"))
    assert "Anything?" in screen().text
    too_long = await bot.text(user, "y" * 51)
    assert too_long.text == T("That is too long: at most {limit} characters.", limit=50)
    done = await bot.text(user, "All good")
    assert "Thank you <3 & goodbye" in done.text

    rows = await bot.rt.db.fetchall(
        "SELECT question_id, score, value_num, value_text, value_json, not_applicable, comment"
        " FROM answers ORDER BY id"
    )
    got = {r["question_id"]: dict(r) for r in rows}
    assert got["q_scale"]["not_applicable"] == 1
    assert got["q_yes"]["value_text"] == "unsure"
    assert got["q_choice"]["value_text"] == "night"
    assert got["q_multi"]["value_json"] == '["tired", "fine"]'
    assert got["q_nps"]["value_num"] == 9
    assert got["q_nps"]["score"] == 4.6
    assert got["q_text"]["comment"] == "All good"
    assert got["q_text"]["value_text"] is None


async def test_the_first_tick_runs_when_the_bot_starts_however_late_it_starts(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Not a minute later: a replica restarted often must still send what is due."""
    settings = Harness(fake_api, tmp_path, FakeClock()).settings
    async with open_runtime(settings, FakeClock()) as runtime:
        application = build_application(runtime, run_jobs=True)
        ran = asyncio.Event()
        jobs = application.bot_data.scheduler
        assert jobs is not None

        async def run_due(*args: object, **kwargs: object) -> list[str]:
            ran.set()
            return []

        jobs.run_due = run_due  # type: ignore[method-assign]
        async with application:
            await asyncio.sleep(2)  # a slow start: longer than the scheduler's default grace
            await application.start()
            try:
                await asyncio.wait_for(ran.wait(), timeout=20)
            finally:
                await application.stop()
