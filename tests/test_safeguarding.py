"""Safeguarding: a rule on an answer, the help shown at once, batched anonymous alerts,
Seen / Followed up, and the digest's list of open alerts (issue 13, part 1)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.infra.i18n import LANGUAGES, translator
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_render import render_all
from bot.services.safeguarding import DEFAULT_HELP, HelpTextRefused, parse_help_file
from dialogs import SHIPPED_SCRIPTS
from dialogs.diff import summarise
from dialogs.engine import DialogEngine
from dialogs.model import Script
from dialogs.validate import validate_file, validate_source
from dialogs.workbook_reader import validate_workbook
from dialogs.workbook_writer import write_workbook
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button, column_names

T = translator("en")
NOON = datetime(2026, 11, 30, 12, 7, tzinfo=UTC)
SHIPPED = SHIPPED_SCRIPTS / "service-user.yaml"


def shipped() -> Script:
    validation = validate_file(SHIPPED)
    assert validation.ok and validation.script is not None
    return validation.script


# ---------------------------------------------------------------- the rule itself


def test_the_shipped_script_signals_not_safe_not_respected_and_not_knowing_whom_to_tell() -> None:
    script = shipped()
    rules = {q.id: q.safeguard_if for q in script.questions() if q.safeguard_if is not None}
    assert set(rules) == {"su_safe", "su_respect", "su_complain"}
    session = DialogEngine(script).start()
    assert session.apply("answer", 1).safeguarding == "su_respect"  # "No"
    assert session.apply("answer", 2).safeguarding is None  # "Not really": no rule
    assert session.apply("answer", 4).safeguarding is None
    assert session.apply("answer", 1).safeguarding == "su_safe"
    # Back to it and the same answer again: one signal, not two.
    session.apply("back")
    assert session.apply("answer", 1).safeguarding is None
    session.apply("back")
    assert session.apply("answer", 5).safeguarding is None
    assert session.apply("answer", 3).safeguarding is None  # times
    assert session.apply("answer", 3).safeguarding is None  # difference
    assert session.apply("answer", 1).safeguarding == "su_complain"  # does not know whom


def test_a_rule_is_checked_like_a_follow_up_condition() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    broken = text.replace(
        "        safeguard_if: {eq: 1}\n", "        safeguard_if: {question: su_say, eq: 9}\n", 1
    )
    errors = [str(e) for e in validate_source(broken, "su.yaml").errors]
    assert any("safeguard_if.question" in e and "its own question only" in e for e in errors)
    wrong_value = text.replace("safeguard_if: {eq: 1}", "safeguard_if: {eq: 9}", 1)
    errors = [str(e) for e in validate_source(wrong_value, "su.yaml").errors]
    assert any(re.search(r"su\.yaml:\d+.*safeguard_if\.eq.*9", e) for e in errors), errors
    on_text = text.replace(
        "        show_if: {question: su_tell, eq: good}\n",
        "        show_if: {question: su_tell, eq: good}\n        safeguard_if: {answered: true}\n",
    )
    errors = [str(e) for e in validate_source(on_text, "su.yaml").errors]
    assert any("text question cannot have a safeguarding rule" in e for e in errors)


def test_a_rule_only_change_is_logic_not_meaning_and_survives_a_workbook() -> None:
    script = shipped()
    without = validate_source(
        SHIPPED.read_text(encoding="utf-8").replace("        safeguard_if: {eq: 1}\n", ""), "x"
    ).script
    assert without is not None
    change = summarise(without, script)
    assert set(change.logic_changed) == {"su_safe", "su_respect", "su_complain"}
    assert not change.reworded and not change.answers_changed
    again = validate_workbook(write_workbook(script), "su.xlsx")
    assert again.ok and again.script is not None
    assert again.script.questions() == script.questions()


def test_help_files() -> None:
    assert parse_help_file(b"en: Call Ana\nsl: Pokli\xc4\x8dite Ano\n", "de") == {
        "en": "Call Ana",
        "sl": "Pokličite Ano",
    }
    assert parse_help_file(b"Rufen Sie Ana an: 112", "de") == {"de": "Rufen Sie Ana an: 112"}
    for bad in (b"xx: hi\n", b"en: ''\n", b"- a\n- b\n", b"\xff\xfe", b"en: " + b"a" * 1600):
        with pytest.raises(HelpTextRefused):
            parse_help_file(bad, "en")


def test_the_default_help_names_112_in_every_language() -> None:
    texts = {lang: translator(lang)(DEFAULT_HELP) for lang in LANGUAGES}
    assert all("112" in text for text in texts.values())
    assert len(set(texts.values())) == len(LANGUAGES)  # translated, not English five times


# ---------------------------------------------------------------- through the bot


async def feedback(bot: Harness, user: User, code: str, taps: list[str]) -> StoredMessage:
    """Start a service user's feedback and tap the answers; the message of the questions."""
    await bot.command(user, "/start", code)
    first = await bot.settle(
        lambda: [m for m in bot.api.messages(user.id) if "1/8" in (m.text or "")]
    )
    message = first[-1]
    for label in taps:
        newest = [m for m in bot.api.messages(user.id) if m.buttons]
        current = bot.api.message(user.id, newest[-1].message_id)
        await bot.press(user, current, button(current, label))
        message = current
    return message


def alerts_of(bot: Harness, user: User) -> list[StoredMessage]:
    return [
        m for m in bot.api.messages(user.id) if any(d.startswith("1:sg:") for d in m.callback_data)
    ]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_not_safe_shows_the_help_text_at_once(bot: Harness, language: str) -> None:
    bot.clock.now = NOON
    org = await bot.org(language=language)
    code = await bot.invite(org, "service_user")
    guest = bot.user("Guest", language)
    await feedback(
        bot, guest, code, ["🙂", "🙂", "🙂", "😞"]
    )  # the fourth: "Do you feel safe here?"
    t = translator(language)
    helps = [m for m in bot.api.messages(guest.id) if t("🤝 You can get help") in (m.text or "")]
    assert len(helps) == 1
    assert t(DEFAULT_HELP) in helps[0].text and "112" in helps[0].text
    # The dialog goes on below the help, with the fifth question.
    last = bot.api.last_message(guest.id)
    assert "5/8" in last.text and last.message_id > helps[0].message_id
    rows = await bot.rt.db.fetchall(
        "SELECT question_id, answer, alert_id FROM safeguarding_signals"
    )
    assert [tuple(r) for r in rows] == [("su_safe", "1", None)]


async def test_an_organisation_help_text_and_a_preview_of_it(bot: Harness, tmp_path: Path) -> None:
    bot.clock.now = NOON
    org = await bot.org(language="de")
    await bot.rt.safeguarding.set_help_file(
        org, b"de: Sprechen Sie mit Frau Novak, Tel. 01 234 56. Notruf 112.\n"
    )
    code = await bot.invite(org, "service_user")
    for language, expected in (("de", "Frau Novak"), ("en", T(DEFAULT_HELP))):
        guest = bot.user("Guest", language)
        await feedback(bot, guest, code, ["😞"])  # "treated with respect?" No
        assert any(expected in (m.text or "") for m in bot.api.messages(guest.id))


async def test_one_batched_anonymous_alert_seen_followed_up_and_listed(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot.clock.now = NOON
    org = await bot.org()
    repo = OrgRepo(bot.rt.db)
    garden = await repo.create_unit(org, "Garden house")
    river = await repo.create_unit(org, "River house")
    maja = bot.user("Maja")  # the organisation's manager: its contact by default
    await bot.command(maja, "/start", await bot.invite(org, "manager"))
    rok = bot.user("Rok")  # manages the river house only
    await bot.command(rok, "/start", await bot.invite(org, "manager", unit_id=river))
    other = await bot.org("Elsewhere")
    eve = bot.user("Eve")  # staff of another organisation
    await bot.command(eve, "/start", await bot.invite(other, "staff"))
    eve_manager = bot.user("Evan")
    await bot.command(eve_manager, "/start", await bot.invite(other, "manager"))

    guests = []
    for i in range(3):
        guest = bot.api.new_user(f"Zala{i}", language_code="en", username=f"zala_{i}x")
        bot.api.add_private_chat(guest)
        guests.append(guest)
        await feedback(bot, guest, await bot.invite(org, "service_user", unit_id=garden),
                       ["🙂", "🙂", "🙂", "😞"])  # fmt: skip
        bot.clock.now += timedelta(seconds=40)
    scheduler = bot.app.bot_data.scheduler  # type: ignore[union-attr]
    report = await scheduler.run_due(bot.clock.now)
    assert report.extra[-1].sent == 0  # gathered for a few minutes first
    bot.clock.now = NOON + timedelta(minutes=4)  # within five minutes of the first answer
    report = await scheduler.run_due(bot.clock.now)
    assert report.extra[-1].sent == 1
    alerts = alerts_of(bot, maja)
    assert len(alerts) == 1
    alert = alerts[0]
    raw = alert.source or ""
    assert "3 answers call for attention" in alert.text
    assert "Garden house" in alert.text and "Do you feel safe here?" in alert.text
    assert "2026-11-30" in alert.text and "(×3)" in alert.text
    # Nobody's and no time: no Telegram id, name, username, hour or session anywhere.
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.split(".")[0] in ("bot", "storage")
    )
    for text in (raw, alert.text, ours):
        for guest in guests:
            assert str(guest.id) not in text and guest.first_name not in text
            if guest.username:
                assert guest.username not in text
    assert not re.search(r"\b\d{1,2}:\d{2}\b", raw)
    assert await column_names(bot.rt.db, "safeguarding_signals") == {
        "id",
        "org_id",
        "unit_id",
        "day",
        "script_version_id",
        "question_id",
        "answer",
        "due_at",
        "alert_id",
    }  # fmt: skip  (nothing leads to a session, a person or a time of day)
    stored = await bot.rt.db.fetchall("SELECT * FROM safeguarding_signals")
    assert all(r["due_at"] is None for r in stored)  # no time stays with a signal
    # The river house's manager gets nothing about the garden house; nor does another org.
    for person in (rok, eve, eve_manager):
        assert alerts_of(bot, person) == []

    # More in the same hour: held for the hour's batch, one message, with its count.
    guest = bot.user("Late", "en")
    await feedback(bot, guest, await bot.invite(org, "service_user", unit_id=river), ["😞"])
    bot.clock.now = NOON + timedelta(minutes=30)
    assert (await scheduler.run_due(bot.clock.now)).extra[-1].sent == 0
    # A restart, and a second run: nothing twice.
    await bot.restart()
    scheduler = bot.app.bot_data.scheduler  # type: ignore[union-attr]
    assert (await scheduler.run_due(NOON + timedelta(minutes=5))).extra[-1].sent == 0
    bot.clock.now = NOON + timedelta(minutes=65)
    report = await scheduler.run_due(bot.clock.now)
    assert report.extra[-1].sent == 2  # Maja, and Rok for his unit
    again = await scheduler.run_due(bot.clock.now)
    assert again.extra[-1].sent == 0
    maja_alerts = alerts_of(bot, maja)
    assert len(maja_alerts) == 2
    rok_alerts = alerts_of(bot, rok)
    assert alerts_of(bot, eve) == alerts_of(bot, eve_manager) == []
    assert len(rok_alerts) == 1 and "River house" in rok_alerts[0].text
    assert "Garden house" not in rok_alerts[0].text
    assert "Do staff treat you with respect?" in rok_alerts[0].text

    # The digest lists what is open, as the alerts said it.
    async def listed() -> tuple[str, str]:
        digest = await compute_digest(bot.rt.db, bot.rt.frameworks, org, now=bot.clock.now)
        rendered = render_all(digest, bot.rt.frameworks, "en")
        return "\n".join(rendered.messages), rendered.report_html

    messages, report_html = await listed()
    heading = T("Safeguarding alerts not yet followed up")
    for text in (messages, report_html):
        assert heading in text and "Garden house" in text and "River house" in text

    # Forged presses are refused: another organisation's staff and manager.
    data_seen = button(alert, T("Seen"))
    for stranger in (eve, eve_manager):
        refused = await bot.press(stranger, alert, data_seen, check=False)
        assert refused.get("text") == T(
            "Only this organisation's safeguarding contacts and managers can mark alerts."
        )
    # Rok manages the river house: the garden house's alert is not his to mark.
    refused = await bot.press(rok, alert, button(alert, T("Followed up")), check=False)
    assert refused.get("text") and "Only" in refused["text"]
    statuses = await bot.rt.db.fetchall("SELECT status FROM safeguarding_alerts ORDER BY id")
    assert [r["status"] for r in statuses] == ["open", "open"]

    await bot.press(maja, alert, data_seen)
    seen = bot.api.message(maja.id, alert.message_id)
    assert T("👀 Marked as seen.") in seen.text and seen.button_texts == [T("Followed up")]
    messages, _html = await listed()
    assert "Garden house" in messages  # seen is not followed up
    await bot.press(maja, seen, button(seen, T("Followed up")))
    done = bot.api.message(maja.id, alert.message_id)
    assert T("✅ Marked as followed up.") in done.text and done.buttons == []
    messages, report_html = await listed()
    assert "Garden house" not in messages and "Garden house" not in report_html
    assert "River house" in messages  # the second alert is still open
    # A unit's digest lists its own unit's only.
    river_digest = await compute_digest(bot.rt.db, bot.rt.frameworks, org, river, now=bot.clock.now)
    assert [line.unit for line in river_digest.safeguarding] == ["River house"]


async def test_flagged_contacts_replace_the_managers(bot: Harness) -> None:
    bot.clock.now = NOON
    org = await bot.org()
    maja = bot.user("Maja")
    await bot.command(maja, "/start", await bot.invite(org, "manager"))
    sara = bot.user("Sara")
    await bot.command(sara, "/start", await bot.invite(org, "staff"))
    person = await PeopleRepo(bot.rt.db).by_telegram(sara.id)
    assert person is not None
    assert await bot.rt.safeguarding.add_contact(org, person.id)
    await feedback(bot, bot.user("Guest", "en"), await bot.invite(org, "service_user"), ["😞"])
    bot.clock.now += timedelta(minutes=4)
    await bot.app.bot_data.scheduler.run_due(bot.clock.now)  # type: ignore[union-attr]
    alert = alerts_of(bot, sara)[-1]
    assert T("the whole organisation") in alert.text  # no unit: the organisation
    assert alerts_of(bot, maja) == []
    await bot.press(sara, alert, button(alert, T("Followed up")))  # a contact may mark it
    statuses = await bot.rt.db.fetchall("SELECT status FROM safeguarding_alerts")
    assert [r["status"] for r in statuses] == ["followed_up"]


async def test_settings_show_the_help_text_and_go_back_to_the_default(bot: Harness) -> None:
    org = await bot.org()
    await bot.rt.safeguarding.set_help_file(org, b"en: Ring Ana on 040 123 456, or 112.\n")
    ada = bot.user("Ada")
    await bot.command(ada, "/start", await bot.invite(org, "admin"))
    panel = await bot.command(ada, "/settings")
    own = T("your own ({languages})", languages="en")
    assert T("Safeguarding help text: {which}", which=own) in panel.text
    await bot.press(ada, panel, button(panel, T("Help text")))
    choosing = bot.api.message(ada.id, panel.message_id)
    assert "Ring Ana on 040 123 456, or 112." in choosing.text
    assert f"carecheck org set {org} --help-text-file FILE" in choosing.text
    # A staff member's forged press changes nothing.
    sam = bot.user("Sam")
    await bot.command(sam, "/start", await bot.invite(org, "staff"))
    await bot.press(sam, choosing, f"1:st:{org}:help:d", check=False)
    assert await bot.rt.safeguarding.help_texts(org) == {"en": "Ring Ana on 040 123 456, or 112."}
    notice = await bot.press(ada, choosing, button(choosing, T("Back to the default text")))
    assert notice.get("text") == T("Saved.")
    assert await bot.rt.safeguarding.help_texts(org) == {}
    shown = bot.api.message(ada.id, panel.message_id)
    assert T("Safeguarding help text: {which}", which=T("the default")) in shown.text


async def test_alerts_followed_up_go_with_the_retention_period(bot: Harness) -> None:
    from bot.services.retention import purge_alerts

    bot.clock.now = NOON
    org = await bot.org()
    maja = bot.user("Maja")
    await bot.command(maja, "/start", await bot.invite(org, "manager"))
    await feedback(bot, bot.user("Guest", "en"), await bot.invite(org, "service_user"), ["😞"])
    bot.clock.now += timedelta(minutes=4)
    await bot.app.bot_data.scheduler.run_due(bot.clock.now)  # type: ignore[union-attr]
    alert = alerts_of(bot, maja)[-1]
    much_later = NOON + timedelta(days=800)  # beyond the default 24 months
    assert await purge_alerts(bot.rt.db, much_later) == 0  # open alerts stay
    await bot.press(maja, alert, button(alert, T("Followed up")))
    assert await purge_alerts(bot.rt.db, NOON + timedelta(days=30)) == 0
    assert await purge_alerts(bot.rt.db, much_later) == 1
    assert await bot.rt.db.fetchall("SELECT id FROM safeguarding_signals") == []


async def test_a_rule_only_change_is_published_as_a_new_version_with_the_same_ids(
    tmp_path: Path,
) -> None:
    """As the shipped scripts are seeded: changed text, new version; answers keep theirs."""
    from bot.services.script_registry import ScriptRegistry
    from frameworks import default_frameworks
    from storage.db import Database
    from storage.scripts import ScriptRepo
    from tests.fake_clock import FakeClock

    before = tmp_path / "before"
    before.mkdir()
    (before / "service-user.yaml").write_text(
        SHIPPED.read_text(encoding="utf-8").replace("        safeguard_if: {eq: 1}\n", ""),
        encoding="utf-8",
    )
    db = await Database.open(tmp_path / "c.db", clock=FakeClock())
    try:
        registry = ScriptRegistry(db, default_frameworks())
        await registry.ensure_shipped(before)
        old = await ScriptRepo(db).active("service-user", None)
        assert old is not None
        published = await registry.ensure_shipped()
        new = await ScriptRepo(db).active("service-user", None)
        assert new is not None and new.version == old.version + 1
        assert "service-user" in {v.script_id for v in published}
        old_ids = [q.id for q in registry.load(old).script.questions()]
        assert [q.id for q in registry.load(new).script.questions()] == old_ids
        assert registry.load(old).script.questions()[3].safeguard_if is None
    finally:
        await db.close()
