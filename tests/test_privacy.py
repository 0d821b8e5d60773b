"""/privacy shows what is stored about the person writing; /forget deletes it, after asking."""

from __future__ import annotations

from bot.infra.i18n import translator
from bot.telegram.privacy_handlers import DONE, KEPT, NOTHING
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button, stored_rows

T = translator("en")


async def checked_in_staff(bot: Harness, org: int, comment: str) -> tuple[User, StoredMessage]:
    """A staff member who answered a whole check-in, with one low score and a comment."""
    code = await bot.invite(org, "staff")
    user = bot.user("Mia")
    welcome = await bot.command(user, "/start", code)
    await bot.press(user, welcome, button(welcome, T("▶ Start now")))
    message = bot.api.message(user.id, welcome.message_id)
    await bot.press(user, message, button(message, "😞"))
    await bot.text(user, comment)
    screen = bot.api.last_message(user.id)
    assert screen is not None
    for _ in range(4):
        current = bot.api.message(user.id, screen.message_id)
        await bot.press(user, current, button(current, "🙂"))
    return user, screen


async def dump(bot: Harness) -> str:
    return "\n".join(await stored_rows(bot.rt.db))


async def test_staff_see_what_is_stored_and_can_forget_it(bot: Harness) -> None:
    org = await bot.org("Dom <Sonce> & Co")
    user, _ = await checked_in_staff(bot, org, "Night shifts are too long")
    shown = await bot.command(user, "/privacy")
    assert str(user.id) in shown.text
    assert "Dom <Sonce> & Co: staff member" in shown.text
    assert "check-ins: 1, with 5 answers and 1 comment;" in shown.text
    # What /forget would keep, and until when: the end of the window (8 weeks from 2026-W45).
    assert "after /forget, kept until 27 Dec 2026: marks made from your Telegram ID" in shown.text
    assert "/forget" in shown.text
    scores = await bot.rt.db.fetchall("SELECT question_id, score, comment FROM answers")

    prompt = await bot.command(user, "/forget")
    assert T("Delete it now?") in prompt.text
    assert "Until 27 Dec 2026, marks made from your Telegram ID stay" in prompt.text
    answer = await bot.press(user, prompt, button(prompt, T("No, keep it")))
    assert answer["text"] is None
    assert bot.api.message(user.id, prompt.message_id).text == T(KEPT)
    assert str(user.id) in await dump(bot)

    prompt = await bot.command(user, "/forget")
    await bot.press(user, prompt, button(prompt, T("Yes, delete")))
    assert bot.api.message(user.id, prompt.message_id).text == T(DONE)
    assert str(user.id) not in await dump(bot)
    people = await bot.rt.db.fetchall("SELECT * FROM people")
    assert people == []
    # The answers stay, for the group results, linked to nobody.
    after = await bot.rt.db.fetchall("SELECT question_id, score, comment FROM answers")
    assert [tuple(r) for r in after] == [tuple(r) for r in scores]
    sessions = await bot.rt.db.fetchall("SELECT person_id, respondent_key FROM sessions")
    assert [tuple(r) for r in sessions] == [(None, None)]

    # Only the marks are left, under the keyed hash, each with its last day.
    again = await bot.command(user, "/privacy")
    answered = "that you already answered in this period (not what you answered)"
    assert f"{answered}, kept until 29 Nov 2026" in again.text  # the week's mark
    assert "are one person's, kept until 27 Dec 2026" in again.text
    assert "/forget" not in again.text.split("\n")[-1]  # there is nothing it could delete
    nothing_to_delete = await bot.command(user, "/forget")
    assert nothing_to_delete.text == again.text and nothing_to_delete.buttons == []
    checkin = await bot.command(user, "/checkin")
    assert checkin.text == T("Check-ins are for staff who joined with an invitation link.")


async def test_service_users_forget_their_keyed_data(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    user = bot.user("Guest", language="fr")  # not one of ours: a language choice is stored
    picker = await bot.command(user, "/start", poster)
    await bot.press(user, picker, button(picker, "English"))
    first = await bot.settle(lambda: [m for m in bot.api.messages(user.id) if "1/8" in m.text])
    await bot.press(user, first[-1], button(first[-1], "🙂"))

    shown = await bot.command(user, "/privacy")
    assert "your language (en)" in shown.text
    assert "unfinished feedback, answers so far: 1" in shown.text
    assert str(user.id) not in shown.text  # it was never stored, so it is not shown

    prompt = await bot.command(user, "/forget")
    assert "unfinished feedback" in prompt.text
    await bot.press(user, prompt, button(prompt, T("Yes, delete")))
    for table in ("respondent_prefs", "sessions", "answers", "submissions"):
        assert await bot.rt.db.fetchall(f"SELECT * FROM {table}") == [], table
    nothing = await bot.command(user, "/forget")
    assert nothing.text == translator("en")(NOTHING)


async def test_finished_feedback_keeps_only_the_mark_until_the_window_ends(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    user = bot.user("Guest")
    bot.api.send_command(user, "/start", poster)
    first = await bot.settle(lambda: [m for m in bot.api.messages(user.id) if "1/8" in m.text])
    for label in ["🙂"] * 7 + ["👍"]:
        current = bot.api.message(user.id, first[-1].message_id)
        await bot.press(user, current, button(current, label))
    await bot.text(user, "All good")
    await bot.settle(lambda: "May the team reply" in bot.api.messages(user.id)[-1].text)
    shown = await bot.command(user, "/privacy")
    assert (
        "that you already answered in this period (not what you answered), kept until "
        "27 Dec 2026 so nobody answers twice, even after /forget"
    ) in shown.text
    # Nothing /forget could delete: it says what is kept instead of asking.
    kept = await bot.command(user, "/forget")
    assert kept.text == shown.text and kept.buttons == []
    rows = await bot.rt.db.fetchall("SELECT period, until FROM submissions")
    assert [tuple(r) for r in rows] == [("2026-W45+8", "2026-12-27")]
    rows = await bot.rt.db.fetchall("SELECT comment FROM answers WHERE comment IS NOT NULL")
    assert [r["comment"] for r in rows] == ["All good"]  # finished feedback was never theirs


async def test_a_forged_confirmation_forgets_only_the_presser(bot: Harness) -> None:
    org = await bot.org()
    mia, _ = await checked_in_staff(bot, org, "A comment")
    code = await bot.invite(org, "staff")
    eve = bot.user("Eve")
    welcome = await bot.command(eve, "/start", code)
    # Eve presses Mia's confirmation data on her own message (a forging client could).
    await bot.press(eve, welcome, "1:fg:yes", check=False)
    people = await bot.rt.db.fetchall("SELECT telegram_id FROM people")
    assert [r[0] for r in people] == [mia.id]
