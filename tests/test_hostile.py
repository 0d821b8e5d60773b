"""Hostile input: whatever people (or forged clients) send, the bot keeps answering.

No handler exception escapes (nothing is logged at ERROR), the fake Bot API records no
error the bot caused, and nothing is stored that should not be.
"""

from __future__ import annotations

from bot.i18n import translator
from bot.telegram.flood import BURST, GATE, SLOW_DOWN, FloodGate
from tests.harness import Harness


async def test_three_starts_at_once_make_one_session(bot: Harness) -> None:
    org = await bot.org()
    code = await bot.invite(org, "staff", uses=1)
    staff = bot.user("Mia")
    await bot.command(staff, "/start", code)
    guest = bot.user("Guest")
    poster = await bot.invite(org, "service_user")
    for _ in range(3):
        bot.api.send_command(staff, "/checkin")
        bot.api.send_command(guest, "/start", poster)

    def questions(user_id: int) -> list[object]:
        return [m for m in bot.api.messages(user_id) if "1/" in m.text]

    await bot.settle(lambda: len(questions(staff.id)) == 3 and len(questions(guest.id)) == 3)
    rows = await bot.rt.db.fetchall("SELECT audience FROM sessions ORDER BY audience")
    assert [r["audience"] for r in rows] == ["service_user", "staff"]


async def test_a_flood_from_one_person_is_answered_once(bot: Harness) -> None:
    assert bot.app is not None
    gate: FloodGate = bot.app.bot_data[GATE]
    gate.clock = lambda: 0.0  # no refill while the flood lasts
    flooder, other = bot.user("Flood"), bot.user("Calm")
    for number in range(BURST + 30):
        bot.api.send_text(flooder, f"spam {number}")
    reply = await bot.text(other, "hello")
    assert reply.text == translator("en")("Please use the buttons, or send /help.")
    polite = translator("en")(SLOW_DOWN)
    await bot.settle(lambda: any(m.text == polite for m in bot.api.messages(flooder.id)))
    # Every update before the limit was answered, then one polite sentence, then silence.
    texts = [m.text for m in bot.api.messages(flooder.id)]
    assert texts.count(polite) == 1
    assert len(texts) == BURST + 1

    message = bot.api.last_message(flooder.id)
    query = bot.api.press(flooder, message, "1:go", check=False)
    answered = await bot.settle(lambda: bot.api.callback_answers.get(query))
    assert answered["text"] is None  # answered, as every query must be, but nothing more
    assert len(bot.api.messages(flooder.id)) == BURST + 1

    gate.clock = lambda: 60.0  # a minute later the bucket is full again
    after = await bot.text(flooder, "sorry")
    assert after.text == translator("en")("Please use the buttons, or send /help.")
