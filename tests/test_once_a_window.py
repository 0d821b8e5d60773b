"""Who counts toward k holds against /forget: once a window, once a week, one respondent.

The tricks an outside tester found: a service user who answered, used /forget and
answered again (five times in a week, lifting their group above k); a staff member
who used /forget, rejoined with the same invite link and checked in twice in a week,
counted as two people. Marks under keyed hashes now outlive /forget until their
period is over, and then leave the database file.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.infra.i18n import translator
from bot.services.digests.digest_windows import Segment, WindowPlan, plan_of
from bot.services.onboarding import ALREADY_ANSWERED
from bot.services.respondents import kept_since, window_mark
from bot.services.retention import DailyRetention
from bot.telegram.updates import FloodGate, PersonByPerson
from storage.people import SessionSpan
from storage.reports import ReportRepo
from storage.sessions import period_key
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button
from tests.test_nothing_left_to_link import answer_everything, raw_bytes

T = translator("en")
WINDOW = plan_of([]).window_of(date(2026, 11, 23))  # 2026-W45+8: Nov 2 to Dec 27, 2026


REFUSED = T(ALREADY_ANSWERED).split("{day}")[0]


async def shown_after(bot: Harness, user: User, after: int, shows: str) -> StoredMessage:
    """The first message after `after` showing a question (`shows`) or the refusal."""

    def found() -> StoredMessage | None:
        for message in bot.api.messages(user.id):
            text = message.text or ""
            if message.message_id > after and (shows in text or text.startswith(REFUSED)):
                return message
        return None

    return await bot.settle(found)


def last_id(bot: Harness, user: User) -> int:
    message = bot.api.last_message(user.id)
    return 0 if message is None else message.message_id


async def feedback(bot: Harness, guest: User, poster: str) -> StoredMessage:
    """/start with the poster's link, picking English if asked: the first question, or
    the refusal."""
    after = last_id(bot, guest)
    reply = await bot.command(guest, "/start", poster)
    if "English" in reply.button_texts:
        await bot.press(guest, reply, button(reply, "English"))
    return await shown_after(bot, guest, after, "1/")


async def forget(bot: Harness, user: User) -> None:
    """/forget, confirmed if there is anything to delete."""
    prompt = await bot.command(user, "/forget")
    if prompt.buttons:
        await bot.press(user, prompt, button(prompt, T("Yes, delete")))


async def check_in(bot: Harness, user: User) -> None:
    """/checkin, every question answered 🙂."""
    after = last_id(bot, user)
    bot.api.send_command(user, "/checkin")
    question = await shown_after(bot, user, after, "1/5")
    for number in range(1, 6):
        screen = bot.api.message(user.id, question.message_id)
        assert f"{number}/5" in screen.text
        await bot.press(user, screen, button(screen, "🙂"))


async def done_sessions(bot: Harness, audience: str) -> int:
    rows = await bot.rt.db.fetchall(
        "SELECT count(*) FROM sessions WHERE audience = ? AND status = 'done'", (audience,)
    )
    return int(rows[0][0])


async def staff_respondents(bot: Harness, org: int) -> set[str]:
    """The staff respondents the window's digest counts."""
    values = await ReportRepo(bot.rt.db).snapshot(
        lambda reads: reads.staff_values(org, "equass", WINDOW.start, WINDOW.end)
    )
    return {value.respondent for value in values}


async def feedbacks(bot: Harness, org: int) -> int:
    """The service-user respondents the window's digest counts."""
    counts = await ReportRepo(bot.rt.db).snapshot(
        lambda reads: reads.feedback(org, "equass", WINDOW.start, WINDOW.end)[1]
    )
    return sum(counts.values())


async def test_forget_does_not_reset_once_a_window(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Guest", "en")
    # Two feedbacks weeks apart by the fake clock: the flood gate's buckets refill by it too.
    assert bot.app is not None and isinstance(bot.app.update_processor, PersonByPerson)
    bot.app.update_processor.gate = FloodGate(clock=lambda: bot.clock().timestamp())
    await answer_everything(bot, guest, (await feedback(bot, guest, poster)).message_id)
    await forget(bot, guest)

    again = await bot.command(guest, "/start", poster)
    assert again.text == T(ALREADY_ANSWERED, day="28 Dec 2026")  # the day after the window
    bot.clock.advance(days=14)  # another week of the same window: still refused
    again = await bot.command(guest, "/start", poster)
    assert again.text == T(ALREADY_ANSWERED, day="28 Dec 2026")
    assert await done_sessions(bot, "service_user") == 1

    bot.clock.advance(days=21)  # Monday Dec 28: the next window
    await answer_everything(bot, guest, (await feedback(bot, guest, poster)).message_id)
    assert await done_sessions(bot, "service_user") == 2


async def test_five_feedbacks_with_forget_in_between_store_one(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Tester", "fr")  # a language choice is stored, so /forget deletes it
    # The tester's tries are a day apart: the flood gate's buckets refill by the fake clock.
    assert bot.app is not None and isinstance(bot.app.update_processor, PersonByPerson)
    bot.app.update_processor.gate = FloodGate(clock=lambda: bot.clock().timestamp())
    refusals = []
    for _ in range(5):
        screen = await feedback(bot, guest, poster)
        if screen.buttons:
            await answer_everything(bot, guest, screen.message_id)
        else:
            refusals.append(screen.text)
        await forget(bot, guest)
        bot.clock.advance(days=1)
    assert await done_sessions(bot, "service_user") == 1
    assert refusals == [T(ALREADY_ANSWERED, day="28 Dec 2026")] * 4
    assert await bot.rt.db.fetchall("SELECT * FROM respondent_prefs") == []
    assert await feedbacks(bot, org) == 1


async def test_staff_who_forget_and_rejoin_check_in_once_a_week_as_one_respondent(
    bot: Harness,
) -> None:
    org = await bot.org()
    code = await bot.invite(org, "staff")
    mia = bot.user("Mia")
    key = bot.rt.identities.key(mia.id)
    await bot.command(mia, "/start", code)
    await check_in(bot, mia)
    await forget(bot, mia)
    assert await bot.rt.db.fetchall("SELECT * FROM people") == []

    await bot.command(mia, "/start", code)  # the same link, the same Telegram account
    refused = await bot.command(mia, "/checkin")
    assert refused.text == T(ALREADY_ANSWERED, day="30 Nov 2026")  # next Monday
    assert await done_sessions(bot, "staff") == 1

    bot.clock.advance(days=7)  # the next week, the same window
    await check_in(bot, mia)
    assert await done_sessions(bot, "staff") == 2
    (who,) = await staff_respondents(bot, org)  # both check-ins: one respondent
    assert who.startswith("r")  # the token of the window, not the new person

    # Forgetting again keeps the one token: still one respondent in the window.
    await forget(bot, mia)
    assert await staff_respondents(bot, org) == {who}
    marks = await bot.rt.db.fetchall("SELECT mark FROM respondent_marks")
    assert [m["mark"] for m in marks] == [window_mark(key, org, WINDOW)]


async def test_marks_leave_the_file_once_their_period_is_over(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    code = await bot.invite(org, "staff")
    guest, mia = bot.user("Guest"), bot.user("Mia")
    await answer_everything(bot, guest, (await feedback(bot, guest, poster)).message_id)
    await bot.command(mia, "/start", code)
    await check_in(bot, mia)
    await forget(bot, mia)
    await forget(bot, guest)
    guest_key = bot.rt.identities.key(guest.id)
    mia_key = bot.rt.identities.key(mia.id)
    marks = [
        period_key(guest_key, WINDOW.label),
        period_key(mia_key, "2026-W48"),
        window_mark(mia_key, org, WINDOW),
    ]
    found = raw_bytes(bot)
    assert all(mark.encode() in found for mark in marks)
    assert guest_key.encode() not in found and mia_key.encode() not in found

    retention = DailyRetention(bot.rt.db)
    bot.clock.advance(days=8)  # Mia's week is over, the window is not
    await retention(bot.clock())
    rows = await bot.rt.db.fetchall("SELECT respondent_key FROM submissions")
    assert [r[0] for r in rows] == [marks[0]]
    assert len(await bot.rt.db.fetchall("SELECT * FROM respondent_marks")) == 1

    bot.clock.advance(days=28)  # Tuesday Dec 29: Dec 27 is over in every time zone
    assert await retention(bot.clock()) == 2
    for table in ("submissions", "respondent_marks"):
        assert await bot.rt.db.fetchall(f"SELECT * FROM {table}") == [], table
    found = raw_bytes(bot)
    for secret in (*marks, guest_key, mia_key):
        assert secret.encode() not in found


def test_a_session_across_a_window_start_takes_the_token_of_both() -> None:
    """A window never holds sessions of one person under two tokens."""
    plan = WindowPlan([Segment(date(2000, 1, 3), 4)])
    window = plan.window_of(date(2026, 11, 23))
    inside = SessionSpan(1, window.start + timedelta(days=3), window.start + timedelta(days=3))
    earlier = SessionSpan(1, window.start - timedelta(days=20), window.start - timedelta(days=20))
    assert kept_since(plan, window, [inside, earlier]) == window.start
    across = SessionSpan(1, window.start - timedelta(days=1), window.start + timedelta(days=1))
    previous = plan.before(window)
    assert kept_since(plan, window, [inside, earlier, across]) == previous.start
