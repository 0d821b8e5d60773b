"""Anonymous replies on Telegram: a comment, the opt-in, the manager's reply, one answer back."""

from __future__ import annotations

import re
import struct
from datetime import UTC, date, datetime, time, timedelta

from bot.infra.i18n import translator
from bot.services.digests.demo_data import create_demo
from bot.services.retention import DailyRetention
from storage.orgs import OrgRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button
from tests.test_nothing_left_to_link import raw_bytes

T = translator("en")
OFFER = "May the team reply to your comment here?"
DEMO_DAY = date(2026, 11, 23)  # a Monday: twelve weeks of answers before it
COMMENT = "The evening staff never have time to talk"


async def demo(bot: Harness) -> tuple[int, int, User]:
    """A demo organisation (enough people in each group) and its manager Maja."""
    bot.clock.now = datetime.combine(DEMO_DAY, time(12), tzinfo=UTC)
    result = await create_demo(
        bot.rt.db,
        bot.rt.scripts,
        bot.rt.frameworks,
        today=DEMO_DAY,
        weeks=12,
        staff=12,
        users=60,
        lens="equass-revised",  # EQUASS maps the open question to an item no scored one has
    )
    org = result.org_id
    unit = min((await OrgRepo(bot.rt.db).list_units(org)), key=lambda u: u.id).id
    maja = bot.user("Maja")
    await bot.command(maja, "/start", await bot.invite(org, "manager"))
    return org, unit, maja


async def window_end(bot: Harness, org: int) -> date:
    return (await bot.rt.calendar.plan(org)).window_of(bot.clock.now.date()).end


def last_with(bot: Harness, user: User, text: str) -> StoredMessage | None:
    found = [m for m in bot.api.messages(user.id) if m.text and text in m.text]
    return found[-1] if found else None


async def feedback_with_comment(bot: Harness, org: int, unit: int, name: str) -> User:
    """A service user's whole feedback, ending in a typed comment; returns them."""
    guest = bot.user(name)
    await bot.command(guest, "/start", await bot.invite(org, "service_user", unit_id=unit))
    question = await bot.settle(
        lambda: next((m for m in bot.api.messages(guest.id) if "1/8" in (m.text or "")), None)
    )
    for label in ["🙂"] * 7 + ["💡"]:
        screen = bot.api.message(guest.id, question.message_id)
        await bot.press(guest, screen, button(screen, label))
    bot.api.send_text(guest, COMMENT)
    return guest


async def opted_in(bot: Harness, org: int, unit: int, name: str = "Zofija") -> User:
    """A service user who commented on the window's last day and agreed to replies."""
    bot.clock.now = datetime.combine(await window_end(bot, org), time(10), tzinfo=UTC)
    guest = await feedback_with_comment(bot, org, unit, name)
    offer = await bot.settle(lambda: last_with(bot, guest, OFFER))
    # Asked after the thank-you, about the comment it quotes.
    before = bot.api.messages(guest.id)[-2]
    assert T("Thank you! Your answers help us do better.") in before.text
    assert offer.text.startswith(f"You wrote: “{COMMENT}”")
    await bot.press(guest, offer, button(offer, T("✓ Yes, they may reply")))
    thanked = bot.api.message(guest.id, offer.message_id)
    assert thanked.text == T(
        "Thank you. If the team replies, you will find it here, and you can answer once."
    )
    return guest


async def comment_list(bot: Harness, maja: User, org: int) -> StoredMessage:
    """The next morning: Maja's digest, then its full comment list."""
    end = await window_end(bot, org)
    bot.clock.now = datetime.combine(end + timedelta(days=1), time(12), tzinfo=UTC)
    bot.api.send_command(maja, "/digest")
    more = await bot.settle(lambda: last_with(bot, maja, "in this digest"))
    await bot.press(maja, more, button(more, T("💬 All comments")))
    return await bot.settle(lambda: last_with(bot, maja, COMMENT))


def exposes(text: str, user: User) -> list[str]:
    """What in a message could tell who someone is or when they wrote."""
    found = [s for s in (str(user.id), user.first_name) if s in text]
    return found + re.findall(r"\b\d{1,2}:\d{2}\b", text)


async def test_the_round_trip_stays_anonymous(bot: Harness) -> None:
    org, unit, maja = await demo(bot)
    zofija = await opted_in(bot, org, unit)
    assert [r["answered"] for r in await bot.rt.db.fetchall("SELECT * FROM reply_routes")] == [0]

    listed = await comment_list(bot, maja, org)
    assert f"<i>{T('Service user')}" in listed.text or T("Service user") in listed.text
    assert [b["text"] for row in listed.buttons for b in row] == [T("↩ Reply to {n}", n=1)]
    seen_from = len(bot.api.messages(maja.id)) - 1

    await bot.press(maja, listed, button(listed, "↩"))
    prompt = await bot.settle(lambda: last_with(bot, maja, "Your reply to the comment"))
    assert COMMENT in prompt.text
    before = len(bot.api.messages(zofija.id))
    done = await bot.text(maja, "Thank you. From next week two of us stay until 20:00 to talk.")
    assert done.text == T("Your reply was sent. If the author answers, you get it here.")
    reply = await bot.settle(
        lambda: len(bot.api.messages(zofija.id)) > before and bot.api.messages(zofija.id)[-1]
    )
    assert reply.text == T(
        "The team replied to your comment “{comment}”:\n\n{reply}",
        comment=COMMENT,
        reply="Thank you. From next week two of us stay until 20:00 to talk.",
    )
    assert "Maja" not in reply.text

    await bot.press(zofija, reply, button(reply, T("✍ Answer")))
    await bot.settle(lambda: last_with(bot, zofija, "Send your answer as one message."))
    thanks = await bot.text(zofija, "Thank you, that helps. Call me on 040 123 456")
    assert thanks.text == T("Your answer was sent. Your name stays hidden.")
    answer = await bot.settle(lambda: last_with(bot, maja, "answered your reply"))
    assert answer.text.startswith(
        T(
            "The author of the comment “{comment}” answered your reply:\n\n{answer}",
            comment=COMMENT,
            answer="",
        )[:40]
    )
    assert "Thank you, that helps." in answer.text
    assert "040 123 456" not in answer.text  # contact details are scrubbed, as in digests

    # Once only: a second Answer is refused, and nothing more reaches Maja.
    received = len(bot.api.messages(maja.id))
    second = await bot.press(zofija, reply, button(reply, T("✍ Answer")))
    assert second["text"] == T("You have already answered this reply.")
    assert len(bot.api.messages(maja.id)) == received

    # Nothing Maja received from the list on names Zofija, her id or a time of hers.
    for message in bot.api.messages(maja.id)[seen_from:]:
        if message.from_bot:
            assert exposes(message.text.replace("20:00", ""), zofija) == [], message.text

    # The database's bytes (file, log, index) hold her Telegram id in no plain form.
    raw = raw_bytes(bot)
    for form in (
        str(zofija.id).encode(),
        struct.pack(">q", zofija.id),
        struct.pack("<q", zofija.id),
    ):
        assert form not in raw


async def test_declining_keeps_nothing(bot: Harness) -> None:
    org, unit, _maja = await demo(bot)
    bot.clock.now = datetime.combine(await window_end(bot, org), time(10), tzinfo=UTC)
    guest = await feedback_with_comment(bot, org, unit, "Ivo")
    offer = await bot.settle(lambda: last_with(bot, guest, OFFER))
    await bot.press(guest, offer, button(offer, T("✗ No, thanks")))
    assert bot.api.message(guest.id, offer.message_id).text == T(
        "Fine: nothing is kept for replies."
    )
    ignored = await feedback_with_comment(bot, org, unit, "Eva")  # never answers the offer
    await bot.settle(lambda: last_with(bot, ignored, OFFER))
    assert await bot.rt.db.fetchall("SELECT * FROM reply_routes") == []
    assert await bot.rt.db.fetchall("SELECT * FROM reply_senders") == []


async def test_a_route_expires_after_30_days(bot: Harness) -> None:
    org, unit, maja = await demo(bot)
    await opted_in(bot, org, unit)
    agreed = bot.clock.now.date()
    listed = await comment_list(bot, maja, org)
    retention = DailyRetention(bot.rt.db)
    await retention(datetime.combine(agreed + timedelta(days=31), time(1), tzinfo=UTC))
    assert len(await bot.rt.db.fetchall("SELECT * FROM reply_routes")) == 1  # its last day
    # Past its last day, a Reply is refused even before retention runs.
    bot.clock.now = datetime.combine(agreed + timedelta(days=31), time(12), tzinfo=UTC)
    refused = await bot.press(maja, listed, button(listed, "↩"), check=False)
    assert refused["text"] == T("The time to reply to that comment is over.")
    await retention(datetime.combine(agreed + timedelta(days=32), time(1), tzinfo=UTC))
    assert await bot.rt.db.fetchall("SELECT * FROM reply_routes") == []


async def test_forget_deletes_the_routes(bot: Harness) -> None:
    org, unit, _maja = await demo(bot)
    zofija = await opted_in(bot, org, unit)
    other = await opted_in(bot, org, unit, "Tina")
    shown = await bot.command(zofija, "/privacy")
    last_day = (bot.clock.now.date() + timedelta(days=30)).strftime("%-d %b %Y")
    assert "anonymous replies to 1 of your comments, encrypted, until " + last_day in shown.text
    prompt = await bot.command(zofija, "/forget")
    assert "the way back to you for replies" in prompt.text
    await bot.press(zofija, prompt, button(prompt, T("Yes, delete")))
    routes = await bot.rt.db.fetchall("SELECT * FROM reply_routes")
    assert len(routes) == 1  # Tina's
    assert len(await bot.rt.replies.kept_for(other.id)) == 1
    assert await bot.rt.replies.kept_for(zofija.id) == []


async def test_forged_presses_are_refused(bot: Harness) -> None:
    org, unit, maja = await demo(bot)
    small = await OrgRepo(bot.rt.db).create_unit(org, "Small house")
    # A comment of a group below k: its author agreed, but it is in no digest.
    hidden = await opted_in(bot, org, small, "Lone")
    seen = await opted_in(bot, org, unit, "Zofija")
    hidden_route = next(r.id for r in await bot.rt.replies.kept_for(hidden.id))
    seen_route = next(r.id for r in await bot.rt.replies.kept_for(seen.id))
    listed = await comment_list(bot, maja, org)
    period = button(listed, "↩").split(":")[4]
    assert str(hidden_route) not in str(listed.buttons)

    withheld = T("That comment is not shown in this digest, so it cannot be answered.")
    for data in (
        f"1:rp:{org}:0:{period}:{hidden_route}",
        f"1:rp:{org}:{small}:{period}:{hidden_route}",
        f"1:rp:{org}:0:{period}:123456789",
    ):
        answer = await bot.press(maja, listed, data, check=False)
        assert answer["text"] == withheld, data

    # Another organisation's manager: not its digest; in their own, no such comment.
    elsewhere = await bot.org("Elsewhere")
    stranger = bot.user("Stranger")
    start = await bot.command(stranger, "/start", await bot.invite(elsewhere, "manager"))
    no_access = T("You cannot see that digest.")
    refused = await bot.press(stranger, start, f"1:rp:{org}:0:{period}:{seen_route}", check=False)
    assert refused["text"] == no_access
    refused = await bot.press(stranger, start, f"1:cm:{org}:0:{period}", check=False)
    assert refused["text"] == no_access
    own = await bot.press(stranger, start, f"1:rp:{elsewhere}:0:{period}:{seen_route}", check=False)
    assert own["text"] == withheld
    # Staff of the organisation see no digest, so reply to nothing.
    sam = bot.user("Sam")
    welcome = await bot.command(sam, "/start", await bot.invite(org, "staff"))
    refused = await bot.press(sam, welcome, f"1:rp:{org}:0:{period}:{seen_route}", check=False)
    assert refused["text"] == no_access

    # Someone else's opt-in and Answer buttons do not work for the stranger.
    offer = last_with(bot, seen, T("Thank you. If the team replies"))
    assert offer is not None
    invalid = T("This button is no longer valid.")
    forged = await bot.press(stranger, start, f"1:ra:{seen_route}", check=False)
    assert forged["text"] == invalid
    pia = await feedback_with_comment(bot, org, unit, "Pia")
    pias_offer = await bot.settle(lambda: last_with(bot, pia, OFFER))
    yes = button(pias_offer, T("✓ Yes, they may reply"))
    forged = await bot.press(stranger, start, yes, check=False)  # her very button's data
    assert forged["text"] == invalid
    assert len(await bot.rt.db.fetchall("SELECT * FROM reply_routes")) == 2
    await bot.press(pia, pias_offer, yes)
    assert len(await bot.rt.replies.kept_for(pia.id)) == 1
    assert await bot.rt.replies.kept_for(stranger.id) == []
    assert await bot.rt.db.fetchall("SELECT * FROM reply_senders") == []


async def test_staff_are_asked_once_their_check_in_is_done(bot: Harness) -> None:
    org = await bot.org()
    mia = bot.user("Mia")
    await bot.command(mia, "/start", await bot.invite(org, "staff"))
    after = bot.api.last_message(mia.id).message_id  # type: ignore[union-attr]
    bot.api.send_command(mia, "/checkin")
    question = await bot.settle(
        lambda: next(
            (m for m in bot.api.messages(mia.id) if m.message_id > after and "1/5" in m.text),
            None,
        )
    )
    await bot.press(mia, question, button(question, "😞"))  # low: a comment is asked
    second = await bot.text(mia, "Night shifts are too long")
    assert "2/5" in second.text  # the check-in goes on, not interrupted by the offer
    for _ in range(8):
        screen = bot.api.message(mia.id, second.message_id)
        if not screen.buttons:
            break
        await bot.press(mia, screen, button(screen, "🙂"))
    offer = await bot.settle(lambda: last_with(bot, mia, OFFER))
    assert offer.text.startswith("You wrote: “Night shifts are too long”")
    assert sum(OFFER in m.text for m in bot.api.messages(mia.id)) == 1
    await bot.press(mia, offer, button(offer, T("✓ Yes, they may reply")))
    assert len(await bot.rt.replies.kept_for(mia.id)) == 1
    shown = await bot.command(mia, "/privacy")
    assert "anonymous replies to 1 of your comments" in shown.text


async def test_the_days_to_reply_start_when_the_comment_can_be_read(bot: Harness) -> None:
    """A comment reaches a digest only once its window is over: a route agreed on the
    window's first day still has its 30 days after that."""
    org, unit, _maja = await demo(bot)
    end = await window_end(bot, org)
    start = (await bot.rt.calendar.plan(org)).window_of(end).start
    bot.clock.now = datetime.combine(start, time(10), tzinfo=UTC)
    guest = await feedback_with_comment(bot, org, unit, "Early")
    offer = await bot.settle(lambda: last_with(bot, guest, OFFER))
    await bot.press(guest, offer, button(offer, T("✓ Yes, they may reply")))
    rows = await bot.rt.db.fetchall("SELECT expires_on FROM reply_routes")
    assert [r["expires_on"] for r in rows] == [(end + timedelta(days=30)).isoformat()]
