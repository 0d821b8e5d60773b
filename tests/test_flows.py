"""Multi-step flows end: on any command, on a check-in's button, and after their time.

The case that found it: a manager taps "Plan an action" and walks away; later they do
their own check-in, score low and type the comment. The comment must be the check-in's,
never the plan's title.
"""

from __future__ import annotations

from bot.infra.i18n import translator
from bot.telegram.flows import FLOW_MINUTES
from storage.people import PeopleRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button
from tests.test_bot_digest import demo_manager, last_with

T = translator("en")
TITLE_ASKED = T("What is the action? Send a short title.")
PLAN_ENDED = T("This plan has ended. Start again from the digest.")
WEAK_SPOTS = T("Weak spots: plan an improvement action?")


async def plan_started(bot: Harness) -> tuple[int, User]:
    """A manager who is also staff, with a plan waiting for its title."""
    org, maja = await demo_manager(bot)
    person = await PeopleRepo(bot.rt.db).by_telegram(maja.id)
    assert person is not None
    await PeopleRepo(bot.rt.db).add_membership(person.id, org, None, "staff")
    bot.rt.identities.forget_cached(maja.id)
    bot.api.send_command(maja, "/digest")
    spots = await bot.settle(
        lambda: last_with(bot, maja, T("Weak spots: plan an improvement action?"))
    )
    await bot.press(maja, spots, spots.callback_data[0])
    await bot.settle(lambda: last_with(bot, maja, TITLE_ASKED))
    return org, maja


async def low_answer_then_comment(bot: Harness, maja: User, first: StoredMessage) -> str:
    """Answer the check-in's first question low, then type the comment it asks for."""
    await bot.press(maja, first, button(first, "😞"))
    screen = bot.api.message(maja.id, first.message_id)
    assert "Type your comment" in screen.text
    await bot.text(maja, "more time for handovers")
    return "more time for handovers"


async def stored_comment(bot: Harness, user: User) -> list[str]:
    """The comments of this person's own check-ins."""
    rows = await bot.rt.db.fetchall(
        "SELECT a.comment FROM answers a JOIN sessions s ON s.id = a.session_id"
        " JOIN people p ON p.id = s.person_id"
        " WHERE a.comment IS NOT NULL AND p.telegram_id = ?",
        (user.id,),
    )
    return [row["comment"] for row in rows]


async def test_a_command_ends_the_plan_and_the_comment_is_the_check_ins(bot: Harness) -> None:
    _org, maja = await plan_started(bot)
    first = await bot.command(maja, "/checkin")  # the intro
    question = await bot.settle(
        lambda: next((m for m in bot.api.messages(maja.id) if "1/" in (m.text or "")), None)
    )
    del first
    comment = await low_answer_then_comment(bot, maja, question)
    assert await stored_comment(bot, maja) == [comment]
    assert await bot.rt.db.fetchall("SELECT title FROM actions WHERE title = ?", (comment,)) == []


async def test_the_check_ins_start_button_ends_the_plan(bot: Harness) -> None:
    _org, maja = await plan_started(bot)
    # The weekly pulse arrives while the plan waits; the manager starts it from the button.
    assert bot.app is not None and bot.app.bot_data.scheduler is not None
    sent = await bot.app.bot_data.scheduler.send_invitation(
        await PeopleRepo(bot.rt.db).by_telegram(maja.id),
        False,  # type: ignore[arg-type]
    )
    assert sent == "sent"
    pulse = bot.api.last_message(maja.id)
    assert pulse is not None
    await bot.press(maja, pulse, button(pulse, T("▶ Start now")))
    question = bot.api.message(maja.id, pulse.message_id)
    comment = await low_answer_then_comment(bot, maja, question)
    assert await stored_comment(bot, maja) == [comment]


async def test_a_plan_expires_and_the_text_goes_on(bot: Harness) -> None:
    _org, maja = await plan_started(bot)
    bot.clock.advance(minutes=FLOW_MINUTES + 1)
    await bot.text(maja, "Weekly team meeting")
    await bot.settle(lambda: last_with(bot, maja, PLAN_ENDED))
    assert (
        await bot.rt.db.fetchall("SELECT id FROM actions WHERE title = 'Weekly team meeting'") == []
    )
    # Within its time the same flow takes the title.
    spots = last_with(bot, maja, WEAK_SPOTS)
    assert spots is not None
    await bot.press(maja, spots, spots.callback_data[0])
    await bot.settle(
        lambda: len([m for m in bot.api.messages(maja.id) if m.text == TITLE_ASKED]) == 2
    )
    bot.clock.advance(minutes=FLOW_MINUTES - 1)
    owner = await bot.text(maja, "Weekly team meeting")
    assert owner.text == T("Who will do it? Send a name or a role, or tap Skip.")


async def test_a_draft_review_ends_on_a_command(bot: Harness) -> None:
    org = await bot.org()
    ada = bot.user("Ada")
    person = await PeopleRepo(bot.rt.db).get_or_create(ada.id, "en")
    await PeopleRepo(bot.rt.db).add_membership(person.id, org, None, "admin")
    live = await bot.rt.scripts.active("staff-pulse", org)
    bot.api.send_document(ada, live.version.source_text.encode(), file_name="staff-pulse.yaml")  # type: ignore[union-attr]
    summary = await bot.settle(
        lambda: next((m for m in bot.api.messages(ada.id) if m.buttons), None)
    )
    await bot.command(ada, "/help")
    answer = await bot.press(ada, summary, button(summary, T("✅ Publish")), check=False)
    assert answer["text"] == T("This draft is gone. Please send the file again.")
