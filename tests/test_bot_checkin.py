"""Staff onboarding and check-ins, and service-user feedback, through the fake Bot API."""

from __future__ import annotations

import pytest

from bot.infra.i18n import LANGUAGES, translator
from bot.services.onboarding import ALREADY_ANSWERED
from tests.harness import Harness, button, stored_rows


@pytest.mark.parametrize("language", LANGUAGES)
async def test_staff_joins_and_checks_in(bot: Harness, language: str) -> None:
    org = await bot.org(language=language)
    code = await bot.invite(org, "staff", uses=1)
    user = bot.user("Mia", language)
    t = translator(language)

    welcome = await bot.command(user, "/start", code)
    assert "Dom Sonce" in welcome.text
    assert t("▶ Start now") in welcome.button_texts

    await bot.press(user, welcome, button(welcome, t("▶ Start now")))
    question = await bot.settle(
        lambda: [m for m in bot.api.messages(user.id) if "1/5" in (m.text or "")]
    )
    message = question[-1]
    for number in range(1, 6):
        current = bot.api.message(user.id, message.message_id)
        assert f"{number}/5" in current.text
        await bot.press(user, current, button(current, "🙂"))
    final = bot.api.message(user.id, message.message_id)
    assert final.buttons == []
    rows = await bot.rt.db.fetchall("SELECT question_id, score FROM answers")
    assert len(rows) == 5
    assert {r["score"] for r in rows} == {4.0}

    stop = await bot.command(user, "/stop")
    assert stop.text == t(
        "You will get no more weekly check-ins. Send /checkin whenever you want to answer anyway."
    )


async def test_service_user_feedback_is_anonymous(bot: Harness) -> None:
    org = await bot.org()
    code = await bot.invite(org, "service_user")
    user = bot.user("Guest", "fr")  # not one of ours: the first screen is a language choice

    picker = await bot.command(user, "/start", code)
    assert "Slovenščina" in picker.button_texts
    await bot.press(user, picker, button(picker, "Slovenščina"))
    first = await bot.settle(
        lambda: [m for m in bot.api.messages(user.id) if "1/8" in (m.text or "")]
    )
    message = first[-1]
    for _ in range(7):
        current = bot.api.message(user.id, message.message_id)
        await bot.press(user, current, button(current, "🙂"))
    choice = bot.api.message(user.id, message.message_id)
    assert "8/8" in choice.text  # which open question, if any: the eighth tap
    await bot.press(user, choice, button(choice, "💡"))
    text_question = bot.api.message(user.id, message.message_id)
    assert "9/9" in text_question.text
    after = bot.api.last_message(user.id).message_id
    bot.api.send_text(user, "Več sprehodov, prosim <3 & hvala")
    thanks = await bot.api.wait_for_message(user.id, after=after)
    assert "Hvala" in thanks.text or "hvala" in thanks.text

    # Nothing identifying: no Telegram id anywhere in the database.
    dump = "\n".join([line async for line in _dump(bot)])
    assert str(user.id) not in dump
    rows = await bot.rt.db.fetchall("SELECT comment FROM answers WHERE comment IS NOT NULL")
    assert [r["comment"] for r in rows] == ["Več sprehodov, prosim <3 & hvala"]
    sessions = await bot.rt.db.fetchall("SELECT respondent_key, status FROM sessions")
    assert [(r["respondent_key"], r["status"]) for r in sessions] == [(None, "done")]

    again = await bot.command(user, "/start", code)
    # Once a window (8 weeks from 2026-W45): again from the day after it ends.
    assert again.text == translator("sl")(ALREADY_ANSWERED, day="28. dec. 2026")
    assert again.buttons == []


async def _dump(bot: Harness):  # type: ignore[no-untyped-def]
    for row in await stored_rows(bot.rt.db):
        yield row
