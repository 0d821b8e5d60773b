"""/settings through the fake Bot API: every setting on its keyboard, forged and stale
presses refused with one translated line, and nothing changed by them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.infra.i18n import translator
from bot.services.digests.demo_data import create_demo
from bot.services.org_settings import (
    BAD_CHECKIN,
    BAD_GAP,
    BAD_K,
    BAD_LANGUAGE,
    BAD_LENS,
    BAD_RETENTION,
    BAD_WINDOW,
    BAD_ZONE,
    ZONE_CHOICES,
)
from bot.services.settings_desk import NOT_ALLOWED, STALE
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button
from tests.test_hostile import gate_of

T = translator("en")


async def admin_of(bot: Harness, org: int, name: str = "Ada", language: str = "en") -> User:
    gate_of(bot).burst = 1_000  # these tests press many buttons in a row, on purpose
    user = bot.user(name, language)
    await bot.command(user, "/start", await bot.invite(org, "admin"))
    return user


async def org_row(bot: Harness, org: int) -> dict[str, Any]:
    row = await bot.rt.db.fetchone("SELECT * FROM organisations WHERE id = ?", (org,))
    assert row is not None
    return dict(row)


async def open_settings(bot: Harness, user: User) -> StoredMessage:
    panel = await bot.command(user, "/settings")
    assert panel.text.startswith(T("Settings of {org}", org="Dom Sonce"))
    return panel


async def choose(bot: Harness, user: User, panel: StoredMessage, setting: str, value: str) -> str:
    """Open a setting's choices by its button, press the value's button; the notice."""
    t = translator(user.language_code or "en")
    await bot.press(user, panel, button(panel, t(setting)))
    choices = bot.api.message(user.id, panel.message_id)
    assert t("Choose: {setting}", setting=t(setting)) in choices.text
    answer = await bot.press(user, choices, button(choices, value))
    return str(answer.get("text") or "")


async def test_an_admin_changes_every_setting(bot: Harness) -> None:
    org = await bot.org()
    ada = await admin_of(bot, org)
    panel = await open_settings(bot, ada)
    equass = bot.rt.frameworks.get("equass").name("en")
    assert T("Framework: {name}", name=equass) in panel.text
    presses = [
        ("Framework", "Czech standards"),
        ("Check-in day", "Thursday"),
        ("Check-in hour", "17:00"),
        ("Time zone", "Europe/Prague"),
        ("Language", "Deutsch"),
        ("Smallest group", "8"),
        ("Comments kept", "36"),
        ("Gap threshold", "1.00"),
        ("Score window", "13"),
    ]
    for setting, value in presses:
        assert await choose(bot, ada, panel, setting, value) == T("Saved.")
        shown = bot.api.message(ada.id, panel.message_id)
        assert shown.text.startswith(T("Settings of {org}", org="Dom Sonce"))
        assert T("Check-in day") in shown.button_texts  # back to the overview
    stored = await org_row(bot, org)
    assert {k: stored[k] for k in (
        "lens", "checkin_weekday", "checkin_hour", "timezone", "language", "k_threshold",
        "retention_months", "gap_threshold",
    )} == {
        "lens": "cz-sqss", "checkin_weekday": 3, "checkin_hour": 17, "timezone": "Europe/Prague",
        "language": "de", "k_threshold": 8, "retention_months": 36, "gap_threshold": 1.0,
    }  # fmt: skip
    assert await bot.rt.organisations.window_weeks(org) == 13
    final = bot.api.message(ada.id, panel.message_id).text
    assert T("Check-in: {day} at {hour}, {zone}", day="Thursday", hour="17:00",
             zone="Europe/Prague") in final  # fmt: skip
    assert T("Score window (weeks): {weeks}", weeks=13) in final
    # The current value is marked, and "back" returns to the overview unchanged.
    await bot.press(ada, panel, button(panel, T("Smallest group")))
    choices = bot.api.message(ada.id, panel.message_id)
    assert "✓ 8" in choices.button_texts
    await bot.press(ada, choices, button(choices, T("◀ Back")))
    assert T("Framework") in bot.api.message(ada.id, panel.message_id).button_texts


async def test_a_zone_not_on_the_list_is_offered_as_it_is(bot: Harness) -> None:
    org = await bot.org(timezone="America/Sao_Paulo")
    ada = await admin_of(bot, org)
    panel = await open_settings(bot, ada)
    await bot.press(ada, panel, button(panel, T("Time zone")))
    choices = bot.api.message(ada.id, panel.message_id)
    assert choices.button_texts[0] == "✓ America/Sao_Paulo"
    assert len(choices.button_texts) == len(ZONE_CHOICES) + 2  # and "back"
    answer = await bot.press(ada, choices, button(choices, "✓ America/Sao_Paulo"))
    assert answer.get("text") == T("Saved.")
    assert (await org_row(bot, org))["timezone"] == "America/Sao_Paulo"


FORGED = [
    ("k", "2", BAD_K),
    ("k", "1001", BAD_K),
    ("k", "abc", BAD_K),
    ("tz", str(len(ZONE_CHOICES)), BAD_ZONE),
    ("tz", "Europe-Paris", BAD_ZONE),
    ("lens", "kqs", BAD_LENS),
    ("day", "7", BAD_CHECKIN),
    ("hour", "24", BAD_CHECKIN),
    ("hour", "9999999", BAD_CHECKIN),
    ("win", "5", BAD_WINDOW),
    ("ret", "0", BAD_RETENTION),
    ("ret", "121", BAD_RETENTION),
    ("gap", "5", BAD_GAP),
    ("gap", "300", BAD_GAP),
    ("lang", "fr", BAD_LANGUAGE),
]


@pytest.mark.parametrize("language", ["en", "sl"])
async def test_forged_values_are_one_translated_line_and_change_nothing(
    bot: Harness, language: str
) -> None:
    org = await bot.org()
    ada = await admin_of(bot, org, language=language)
    t = translator(language)
    panel = await bot.command(ada, "/settings")
    before = await org_row(bot, org)
    plans = await bot.rt.db.fetchall("SELECT * FROM window_plans")
    for setting, value, message in FORGED:
        answer = await bot.press(ada, panel, f"1:st:{org}:{setting}:{value}", check=False)
        assert answer.get("text") == t(message), (setting, value)
    assert await org_row(bot, org) == before
    assert await bot.rt.db.fetchall("SELECT * FROM window_plans") == plans
    assert bot.api.message(ada.id, panel.message_id).text == panel.text


async def test_presses_of_others_and_stale_buttons_are_refused(bot: Harness) -> None:
    org = await bot.org()
    other = await bot.org("Dom Luna")
    unit = await OrgRepo(bot.rt.db).create_unit(org, "Ward A")
    ada = await admin_of(bot, org)
    staff = bot.user("Sam")
    await bot.command(staff, "/start", await bot.invite(org, "staff"))
    unit_admin = bot.user("Una")
    await bot.command(unit_admin, "/start", await bot.invite(org, "admin", unit_id=unit))
    stranger = await admin_of(bot, other, "Olga")
    panel = await bot.command(ada, "/settings")
    before = await org_row(bot, org)
    for user in (staff, unit_admin, stranger):
        anchor = await bot.command(user, "/help")
        answer = await bot.press(user, anchor, f"1:st:{org}:k:8", check=False)
        assert answer.get("text") == T(NOT_ALLOWED)
        overview = await bot.press(user, anchor, f"1:st:{org}:m:", check=False)
        assert overview.get("text") == T(NOT_ALLOWED)
    for forged in ("1:st:{org}:zz:1", "1:st:{org}:zz:"):
        answer = await bot.press(ada, panel, forged.format(org=org), check=False)
        assert answer.get("text") == T(STALE)
    assert await org_row(bot, org) == before
    # The organisation's admin loses the role: the same button now says so.
    person = await PeopleRepo(bot.rt.db).by_telegram(ada.id)
    assert person is not None
    await bot.rt.organisations.deactivate(org, person.id)
    bot.rt.identities.forget_cached(ada.id)
    answer = await bot.press(ada, panel, f"1:st:{org}:k:8", check=False)
    assert answer.get("text") == T(NOT_ALLOWED)
    assert (await org_row(bot, org))["k_threshold"] == before["k_threshold"]
    refused = await bot.command(staff, "/settings")
    assert refused.text == T(NOT_ALLOWED)


async def test_a_global_admin_picks_the_organisation_first(bot: Harness) -> None:
    await bot.org()
    luna = await bot.org("Dom Luna")
    root = bot.user("Root")
    gate_of(bot).burst = 1_000
    people = PeopleRepo(bot.rt.db)
    person = await people.get_or_create(root.id, "en")
    await people.add_membership(person.id, None, None, "admin")
    which = await bot.command(root, "/settings")
    assert which.text == T("Which organisation?")
    await bot.press(root, which, button(which, "Dom Luna"))
    panel = bot.api.message(root.id, which.message_id)
    assert panel.text.startswith(T("Settings of {org}", org="Dom Luna"))
    assert await choose(bot, root, panel, "Smallest group", "10") == T("Saved.")
    assert (await org_row(bot, luna))["k_threshold"] == 10
    gone = await bot.press(root, panel, "1:st:999:k:8", check=False)
    assert gone.get("text") == T(STALE)


async def test_the_lens_chosen_in_the_chat_is_the_next_digests(bot: Harness) -> None:
    """Done when: /settings → Czech standards makes the next digest report under them."""
    bot.clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    demo = await create_demo(
        bot.rt.db, bot.rt.scripts, bot.rt.frameworks, today=date(2026, 11, 23), weeks=12,
        staff=12, users=30,
    )  # fmt: skip
    ada = await admin_of(bot, demo.org_id)
    panel = await bot.command(ada, "/settings")
    assert await choose(bot, ada, panel, "Framework", "Czech standards") == T("Saved.")
    czech = bot.rt.frameworks.get("cz-sqss").name("en")
    bot.api.send_command(ada, "/digest")
    digest = await bot.settle(
        lambda: next(
            (m for m in bot.api.messages(ada.id) if T("Quality digest") in (m.text or "")), None
        )
    )
    assert czech in digest.text
