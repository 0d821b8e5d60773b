"""The check-in dialog over Telegram: resume, stale and forged buttons, odd input, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.infra.i18n import translator
from bot.services.onboarding import ALREADY_ANSWERED
from bot.telegram.callbacks import decode
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button

T = translator("en")


async def joined_staff(bot: Harness, name: str = "Mia", language: str = "en") -> User:
    org = await bot.org()
    code = await bot.invite(org, "staff")
    user = bot.user(name, language)
    await bot.command(user, "/start", code)
    return user


async def first_question(bot: Harness, user: User) -> StoredMessage:
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_command(user, "/checkin")
    return await bot.settle(
        lambda: next(
            (
                m
                for m in bot.api.messages(user.id)
                if m.message_id > after and "1/5" in (m.text or "")
            ),
            None,
        )
    )


def current(bot: Harness, user: User, message: StoredMessage) -> StoredMessage:
    return bot.api.message(user.id, message.message_id)


async def stored_answers(bot: Harness) -> list[tuple[str, float | None]]:
    rows = await bot.rt.db.fetchall("SELECT question_id, score FROM answers ORDER BY id")
    return [(r["question_id"], r["score"]) for r in rows]


async def test_pause_and_resume_across_a_restart(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    await bot.press(user, question, button(question, "🙂"))
    second = current(bot, user, question)
    assert "2/5" in second.text
    await bot.press(user, second, button(second, T("⏸ Later")))
    paused = current(bot, user, question)
    assert T("▶ Continue") in paused.button_texts

    await bot.restart()

    await bot.press(user, paused, button(paused, T("▶ Continue")))
    resumed = current(bot, user, question)
    assert "2/5" in resumed.text
    for _ in range(4):
        screen = current(bot, user, question)
        await bot.press(user, screen, button(screen, "😀"))
    answers = await stored_answers(bot)
    assert len(answers) == 5
    assert [score for _, score in answers] == [4.0, 5.0, 5.0, 5.0, 5.0]


async def test_restart_between_two_answers_loses_nothing(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    await bot.press(user, question, button(question, "🙂"))
    await bot.restart()
    screen = current(bot, user, question)
    assert "2/5" in screen.text
    await bot.press(user, screen, button(screen, "😐"))
    assert "3/5" in current(bot, user, question).text
    assert [s for _, s in await stored_answers(bot)] == [4.0, 3.0]


async def test_double_pressed_and_stale_buttons_change_nothing(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    data = button(question, "🙂")
    await bot.press(user, question, data)
    after_first = current(bot, user, question)
    # The same button again (a double tap, or a retried update) on the old screen.
    answer = await bot.press(user, question, data, check=False)
    assert answer.get("text") == T("That button belongs to an earlier question.")
    assert current(bot, user, question).edits == after_first.edits
    assert len(await stored_answers(bot)) == 1


async def test_forged_buttons_are_refused(bot: Harness) -> None:
    owner = await joined_staff(bot, "Owner")
    question = await first_question(bot, owner)
    data = decode(button(question, "🙂"))
    intruder = await joined_staff(bot, "Intruder")
    other = await first_question(bot, intruder)
    forged = f"1:a:{data.session}:{data.step}:0"
    answer = await bot.press(intruder, other, forged, check=False)
    assert answer.get("text") == T("This button is not for you.")
    for junk in ("1:a:x:1:2", "2:a:1:1:1", "garbage", "1:zz", "1:a:" + "9" * 40 + ":1:1"):
        reply = await bot.press(intruder, other, junk, check=False)
        assert reply.get("text") == T("This button is no longer valid.")
    assert await stored_answers(bot) == []


async def test_back_shows_the_earlier_answer_and_skip_moves_on(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    await bot.press(user, question, button(question, "😞"))  # low: a follow-up comment is asked
    follow_up = current(bot, user, question)
    assert T("Type your comment as a message, or tap Skip.") in follow_up.text
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_text(user, "More staff on the night shift, please.")
    second = await bot.api.wait_for_message(user.id, after=after)
    assert "2/5" in second.text
    await bot.press(user, second, button(second, T("◀ Back")))
    back = current(bot, user, second)
    assert T("Type your comment as a message, or tap Skip.") in back.text
    await bot.press(user, back, button(back, T("Skip ▶")))
    rows = await bot.rt.db.fetchall("SELECT comment FROM answers")
    assert [r["comment"] for r in rows] == [None]


async def test_text_where_a_button_is_expected_gets_a_hint(bot: Harness) -> None:
    user = await joined_staff(bot)
    await first_question(bot, user)
    hint = await bot.text(user, "4")
    assert hint.text == T("Please answer with the buttons above.")
    assert await stored_answers(bot) == []


async def test_over_long_comment_is_explained_and_not_stored(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    await bot.press(user, question, button(question, "😞"))
    reply = await bot.text(user, "x" * 600)
    assert reply.text == T("That is too long: at most {limit} characters.", limit=500)
    rows = await bot.rt.db.fetchall("SELECT comment FROM answers")
    assert [r["comment"] for r in rows] == [None]


async def test_unexpected_messages_and_groups(bot: Harness) -> None:
    user = await joined_staff(bot)
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_sticker(user)
    sticker_reply = await bot.api.wait_for_message(user.id, after=after)
    assert sticker_reply.text == T("I can only read text messages and button presses.")
    bot.api.send_photo(user)
    await bot.api.wait_for_message(user.id, after=sticker_reply.message_id)
    unknown = await bot.command(user, "/frobnicate")
    assert unknown.text == T("I do not know that command. Send /help to see what I can do.")

    group = bot.api.add_group("Staff room")
    bot.api.send_text(user, "/checkin", chat=group)
    await bot.settle(lambda: bot.api.calls_to("leaveChat"))
    assert bot.api.messages(group["id"]) == []


async def test_bad_invites_are_explained(bot: Harness) -> None:
    org = await bot.org()
    used = await bot.invite(org, "staff", uses=1)
    expired = await bot.invite(
        org, "staff", expires_at=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=1)
    )
    first = bot.user("First")
    await bot.command(first, "/start", used)
    late = bot.user("Late")
    assert (await bot.command(late, "/start", used)).text == T(
        "This link has been used up. Please ask for a new one."
    )
    assert (await bot.command(late, "/start", expired)).text == T(
        "This link has expired. Please ask for a new one."
    )
    assert (await bot.command(late, "/start", "no-such-code")).text == T(
        "This link is not valid. Please ask for a new one."
    )
    assert (await bot.command(late, "/start", "bad code!")).text == T(
        "This link is not valid. Please ask for a new one."
    )
    people = await bot.rt.db.fetchall("SELECT telegram_id FROM people")
    assert [r["telegram_id"] for r in people] == [first.id]


async def test_429_and_502_in_the_middle_lose_nothing(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    bot.api.inject_fault("429", ["editMessageText"], times=1, retry_after=1)
    await bot.press(user, question, button(question, "🙂"))
    assert "2/5" in current(bot, user, question).text
    bot.api.inject_fault("502", ["editMessageText"], times=1)
    second = current(bot, user, question)
    await bot.press(user, second, button(second, "😀"))
    # The answer is committed whether or not the edit got through; the screen catches up.
    await bot.settle(lambda: "3/5" in current(bot, user, question).text)
    assert [s for _, s in await stored_answers(bot)] == [4.0, 5.0]
    assert bot.api.fault_counts["429"] == 1
    assert bot.api.fault_counts["502"] == 1


async def test_language_switch(bot: Harness) -> None:
    user = await joined_staff(bot)
    picker = await bot.command(user, "/language")
    await bot.press(user, picker, button(picker, "Deutsch"))
    help_text = await bot.command(user, "/help")
    assert help_text.text.startswith(
        translator("de")("carecheck asks short questions about the quality of our service.")
    )


async def test_invite_links_in_the_chat(bot: Harness) -> None:
    org = await bot.org()
    manager = bot.user("Manca")
    await bot.command(manager, "/start", await bot.invite(org, "manager"))
    staff_link = await bot.command(manager, "/invite", "staff")
    link = staff_link.text.splitlines()[-1]
    assert link.startswith("https://t.me/carecheck_test_bot?start=")
    refused = await bot.command(manager, "/invite", "admin")
    assert refused.text == T("You cannot invite this role: {role}.", role=T("administrator"))
    odd = await bot.command(manager, "/invite", "king")
    assert odd.text == T("Usage: /invite staff|service_user|manager|admin")

    newcomer = bot.user("Nik")
    welcome = await bot.command(newcomer, "/start", link.rsplit("=", 1)[1])
    assert "Dom Sonce" in welcome.text
    staff_member = await bot.command(newcomer, "/invite", "staff")
    assert staff_member.text == T("Only managers and administrators can make invitation links.")
    rows = await bot.rt.db.fetchall("SELECT role FROM invites ORDER BY created_at")
    assert sorted(r["role"] for r in rows) == ["manager", "staff"]


async def test_one_check_in_a_week(bot: Harness) -> None:
    user = await joined_staff(bot)
    question = await first_question(bot, user)
    for _ in range(5):
        screen = current(bot, user, question)
        await bot.press(user, screen, button(screen, "🙂"))
    again = await bot.command(user, "/checkin")
    assert again.text == T(ALREADY_ANSWERED, day="30 Nov 2026")  # next Monday
    sessions = await bot.rt.db.fetchall("SELECT id FROM sessions")
    assert len(sessions) == 1
    bot.clock.advance(days=7)  # next week: a new check-in
    bot.api.send_command(user, "/checkin")
    await bot.settle(
        lambda: len(bot.api.messages(user.id)) and "1/5" in bot.api.last_message(user.id).text
    )
