"""Managers on Telegram: /digest, planning an action from a weak spot, /actions, the weekly job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.infra.i18n import translator
from bot.services.digests.demo_data import create_demo
from bot.telegram.ratelimit import TRANSIENT_RETRIES
from storage.people import PeopleRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button

T = translator("en")
TODAY = date(2026, 11, 23)  # a Monday


async def demo_manager(bot: Harness) -> tuple[int, User]:
    # Twelve weeks: enough to fill the newest complete eight-week window before TODAY.
    demo = await create_demo(
        bot.rt.db, bot.rt.scripts, bot.rt.frameworks, today=TODAY, weeks=12, staff=12, users=30
    )
    org = demo.org_id
    code = await bot.invite(org, "manager")
    manager = bot.user("Maja")
    await bot.command(manager, "/start", code)
    return org, manager


def last_with(bot: Harness, user: User, text: str) -> StoredMessage | None:
    found = [m for m in bot.api.messages(user.id) if m.text and text in m.text]
    return found[-1] if found else None


async def test_digest_on_demand_and_the_action_loop(bot: Harness) -> None:
    bot.clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    org, maja = await demo_manager(bot)
    bot.api.send_command(maja, "/digest")
    spots = await bot.settle(
        lambda: last_with(bot, maja, T("Weak spots: plan an improvement action?"))
    )
    assert bot.api.calls_to("sendPhoto") and bot.api.calls_to("sendDocument")
    plan = next(b for row in spots.buttons for b in row)
    assert plan["callback_data"].startswith("1:ap:")

    await bot.press(maja, spots, plan["callback_data"])
    await bot.settle(lambda: last_with(bot, maja, T("What is the action? Send a short title.")))
    owner_question = await bot.text(maja, "Weekly team meeting on rights <with> residents")
    await bot.press(maja, owner_question, button(owner_question, T("Skip ▶")))
    due = bot.api.message(maja.id, owner_question.message_id)
    await bot.press(maja, due, button(due, T("In {weeks} weeks", weeks=4)))
    planned = bot.api.message(maja.id, owner_question.message_id)
    assert planned.text.startswith("Planned: “Weekly team meeting on rights <with> residents”")
    rows = await bot.rt.db.fetchall("SELECT title, status, due_on, baseline FROM actions")
    assert [(r["title"], r["status"], r["due_on"]) for r in rows][-1] == (
        "Weekly team meeting on rights <with> residents",
        "open",
        (TODAY + timedelta(weeks=4)).isoformat(),
    )

    bot.api.send_command(maja, "/actions")
    mine = await bot.settle(
        lambda: next(
            (
                m
                for m in bot.api.messages(maja.id)
                if m.text and "Weekly team meeting" in m.text and m.buttons
            ),
            None,
        )
    )
    await bot.press(maja, mine, button(mine, T("✓ Done")))
    assert T("done") in bot.api.message(maja.id, mine.message_id).text

    # A service user finishing feedback now hears what changed.
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Guest", "en")
    first = await bot.command(guest, "/start", poster)
    question = await bot.settle(
        lambda: next((m for m in bot.api.messages(guest.id) if "1/8" in (m.text or "")), None)
    )
    del first
    for label in ["🙂"] * 7 + ["💡"]:
        screen = bot.api.message(guest.id, question.message_id)
        await bot.press(guest, screen, button(screen, label))
    screen = bot.api.message(guest.id, question.message_id)
    await bot.press(guest, screen, button(screen, T("Skip ▶")))
    thanks = bot.api.message(guest.id, question.message_id)
    assert T("What we changed after your feedback:") in thanks.text
    assert "Weekly team meeting on rights &lt;with&gt; residents" not in thanks.text
    assert "Weekly team meeting on rights <with> residents" in thanks.text


async def test_staff_cannot_read_digests_or_forge_plans(bot: Harness) -> None:
    org, _maja = await demo_manager(bot)
    code = await bot.invite(org, "staff")
    sam = bot.user("Sam")
    await bot.command(sam, "/start", code)
    refused = await bot.command(sam, "/digest")
    assert refused.text == T("Digests are for managers and administrators.")
    forged = await bot.press(sam, refused, f"1:ap:{org}:0:equass:rights", check=False)
    assert forged.get("text") == T("Only managers of this organisation can plan actions.")
    other_org = await bot.org("Elsewhere")
    stranger_code = await bot.invite(other_org, "manager")
    stranger = bot.user("Stranger")
    await bot.command(stranger, "/start", stranger_code)
    reply = await bot.press(stranger, refused, f"1:ap:{org}:0:equass:rights", check=False)
    assert reply.get("text") == T("Only managers of this organisation can plan actions.")
    assert await bot.rt.db.fetchall("SELECT id FROM actions WHERE title LIKE 'x%'") == []


async def test_weekly_digest_once_even_after_a_restart(bot: Harness) -> None:
    monday_after_slot = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    # The organisation exists before its Monday slot (an organisation created after its
    # slot has no digest due for that week).
    bot.clock.now = monday_after_slot - timedelta(days=3)
    org, maja = await demo_manager(bot)
    del org
    assert bot.app is not None
    bot.clock.now = monday_after_slot
    report = await bot.app.bot_data.scheduler.run_due(monday_after_slot)
    assert report.extra and report.extra[0].sent == 1
    spots = last_with(bot, maja, T("Weak spots: plan an improvement action?"))
    assert spots is not None and spots.callback_data[0].startswith("1:ap:")
    photos = len(bot.api.calls_to("sendPhoto"))
    await bot.restart()
    again = await bot.app.bot_data.scheduler.run_due(monday_after_slot)
    assert again.extra[0].sent == 0
    assert len(bot.api.calls_to("sendPhoto")) == photos
    person = await PeopleRepo(bot.rt.db).by_telegram(maja.id)
    assert person is not None


async def test_a_weekly_digest_whose_chart_failed_sends_only_the_rest(bot: Harness) -> None:
    monday_after_slot = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    bot.clock.now = monday_after_slot - timedelta(days=3)
    _org, maja = await demo_manager(bot)
    bot.clock.now = monday_after_slot
    assert bot.app is not None and bot.app.bot_data.scheduler is not None
    scheduler = bot.app.bot_data.scheduler
    # The chart's upload fails, and fails again on each of the transport's retries.
    rule = bot.api.inject_fault("502", "sendPhoto", times=1 + TRANSIENT_RETRIES)
    first = await scheduler.run_due(monday_after_slot)
    assert rule.fired == 1 + TRANSIENT_RETRIES and first.extra[0].failed == 1
    heading = T("Quality digest")
    texts = [m.text for m in bot.api.messages(maja.id) if m.text and heading in m.text]
    assert texts
    second = await scheduler.run_due(monday_after_slot + timedelta(minutes=1))
    assert second.extra[0].sent == 1
    again = [m.text for m in bot.api.messages(maja.id) if m.text and heading in m.text]
    assert again == texts  # the text went once, before the chart failed
    # The chart: the failed tries, then the one that went through on the next run.
    assert len(bot.api.calls_to("sendPhoto")) == 1 + TRANSIENT_RETRIES + 1
    assert len(bot.api.calls_to("sendDocument")) == 1
