"""Fault suite: 429s, 502s and dropped connections between the bot and the Bot API.

Every simulated person must still finish, with no answer lost or doubled, and every
fault the server injected must be retried by the bot or shown to the person as a state
they can retry from ("Something went wrong... try again"), never silently swallowed.
"""

from __future__ import annotations

import contextlib

import pytest

from bot.infra.i18n import translator
from tests.crowd import (
    SOMETHING_WRONG_EN,
    Catalogue,
    Crowd,
    audit,
    fault_summary,
    populate,
    record_faults,
    unhandled,
)
from tests.harness import Harness, button

pytestmark = pytest.mark.slow  # a long suite: `pytest -m 'not slow'` leaves it out


async def test_a_failed_edit_leaves_the_person_able_to_continue(bot: Harness) -> None:
    """The answer is committed, then the edit to the next question fails for good.

    The person is told to try again; pressing the same button again shows where
    the dialog now is (question 2), and the answer is stored once.
    """
    org = await bot.org()
    code = await bot.invite(org, "staff", uses=1)
    user = bot.user("Mia")
    welcome = await bot.command(user, "/start", code)
    await bot.press(user, welcome, button(welcome, "▶ Start now"))
    first = await bot.settle(lambda: [m for m in bot.api.messages(user.id) if "1/5" in m.text])
    question = first[-1]
    bot.api.inject_fault("502", "editMessageText", times=3)  # more than the bot retries
    data = button(question, "🙂")
    answer = await bot.press(user, question, data)
    assert answer["text"] == SOMETHING_WRONG_EN
    assert "1/5" in bot.api.message(user.id, question.message_id).text

    again = await bot.press(user, question, data, check=False)
    assert again["text"] is not None  # "that button belongs to an earlier question"
    assert "2/5" in bot.api.message(user.id, question.message_id).text
    rows = await bot.rt.db.fetchall("SELECT question_id, score FROM answers")
    assert [r["score"] for r in rows] == [4.0]


async def test_a_failed_callback_answer_is_retried(bot: Harness) -> None:
    org = await bot.org()
    code = await bot.invite(org, "staff", uses=1)
    user = bot.user("Mia")
    welcome = await bot.command(user, "/start", code)
    rule = bot.api.inject_fault("502", "answerCallbackQuery")
    answer = await bot.press(user, welcome, button(welcome, "▶ Start now"))
    assert rule.fired == 1
    assert answer["text"] is None


async def test_people_finish_through_429_502_and_drops(bot: Harness) -> None:
    people = await populate(bot.settings.database, bot.api, staff=5, service_users=4, seed=6)
    faults = record_faults(bot.api)
    # One of each kind for sure, on the calls that matter most; then the random rates.
    bot.api.inject_fault("drop", "editMessageText", skip=4)
    bot.api.inject_fault("502", "answerCallbackQuery", skip=5)
    bot.api.inject_fault("429", "sendMessage", skip=3)
    bot.api.set_fault_rates(rate_limit=0.10, bad_gateway=0.05, drop=0.02, retry_after=1)
    catalogue = Catalogue.load()
    crowd = Crowd(bot.api, people, catalogue, patience=8.0, seed=6)
    await crowd.run()
    bot.api.faults.clear()
    # A person moves on once the screen changed; the bot may still be retrying a call.
    with contextlib.suppress(TimeoutError):
        await bot.api.wait_for(lambda: not unhandled(bot.api, faults), timeout=15)

    result = audit(bot.settings.database, people, catalogue)
    assert result.problems == []
    assert result.finished == len(people)
    assert result.completed == result.sessions == len(people)
    assert result.acknowledged == result.stored > 0
    assert result.duplicates == 0
    assert len(faults) > 10, fault_summary(bot.api)
    assert {f.kind for f in faults} == {"429", "502", "drop"}
    assert unhandled(bot.api, faults) == []


async def test_feedback_finished_while_its_thank_you_was_lost(bot: Harness) -> None:
    """The last answer is stored (which erases the respondent's key from the session),
    then every attempt to send the thank-you fails. A tap on the question the person
    still sees shows the thank-you there instead of "this button is not for you"."""
    org = await bot.org()
    code = await bot.invite(org, "service_user")
    user = bot.user("Guest")
    bot.api.send_command(user, "/start", code)
    found = await bot.settle(lambda: [m for m in bot.api.messages(user.id) if "1/8" in m.text])
    question = found[-1]
    for label in ["🙂"] * 7 + ["💡"]:
        current = bot.api.message(user.id, question.message_id)
        await bot.press(user, current, button(current, label))
    current = bot.api.message(user.id, question.message_id)
    assert "9/9" in current.text
    bot.api.inject_fault("502", "sendMessage", times=3)  # every attempt at the thank-you
    notice = await bot.text(user, "More walks, please")
    assert notice.text == SOMETHING_WRONG_EN
    rows = await bot.rt.db.fetchall("SELECT comment FROM answers WHERE comment IS NOT NULL")
    assert [r["comment"] for r in rows] == ["More walks, please"]

    answer = await bot.press(user, current, button(current, "⏸"))
    assert answer["text"] == translator("en")("This check-in is already finished.")
    shown = bot.api.message(user.id, question.message_id)
    assert "Thank you!" in shown.text
    assert shown.buttons == []


async def test_an_old_tap_on_an_up_to_date_message_edits_nothing(bot: Harness) -> None:
    """After a restart the bot does not know what each message shows, but Telegram says
    what the pressed one shows: if it is the current screen already, no edit is made
    (it would be refused as "message is not modified")."""
    org = await bot.org()
    user = bot.user("Mia")
    welcome = await bot.command(user, "/start", await bot.invite(org, "staff"))
    await bot.press(user, welcome, button(welcome, "▶ Start now"))
    first = bot.api.message(user.id, welcome.message_id)
    old = button(first, "🙂")
    await bot.press(user, first, old)
    await bot.restart()
    edits = len(bot.api.calls_to("editMessageText"))
    answer = await bot.press(user, first, old, check=False)
    assert answer["text"] == translator("en")("That button belongs to an earlier question.")
    assert len(bot.api.calls_to("editMessageText")) == edits
    assert "2/5" in bot.api.message(user.id, welcome.message_id).text
