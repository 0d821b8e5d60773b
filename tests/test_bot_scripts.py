"""Admins edit scripts in the chat: upload, fix, preview, publish, roll back."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from bot.infra.i18n import translator
from dialogs.workbook_writer import write_workbook
from storage.reports import ReportRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button

T = translator("en")


async def admin(bot: Harness, org: int) -> User:
    code = await bot.invite(org, "admin")
    user = bot.user("Ada")
    await bot.command(user, "/start", code)
    return user


async def staff(bot: Harness, org: int, name: str) -> User:
    code = await bot.invite(org, "staff")
    user = bot.user(name)
    await bot.command(user, "/start", code)
    return user


def edited_workbook(data: bytes, edits: dict[tuple[str, str], object]) -> bytes:
    """The workbook with cells changed: {(sheet, cell): value}."""
    book = load_workbook(io.BytesIO(data))
    for (sheet, cell), value in edits.items():
        book[sheet][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_of(data: bytes, sheet: str, text: str) -> str:
    book = load_workbook(io.BytesIO(data))
    for row in book[sheet].iter_rows():
        for cell in row:
            if cell.value == text:
                return str(cell.coordinate)
    raise AssertionError(f"{text!r} not in sheet {sheet}")


async def upload(bot: Harness, user: User, data: bytes, name: str) -> list[StoredMessage]:
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_document(user, data, file_name=name)
    await bot.api.wait_for_message(user.id, after=after)
    return [m for m in bot.api.messages(user.id) if m.message_id > after]


async def check_in_to_question_2(bot: Harness, user: User) -> StoredMessage:
    after = bot.api.last_message(user.id).message_id  # type: ignore[union-attr]
    bot.api.send_command(user, "/checkin")
    first = await bot.settle(
        lambda: next(
            (
                m
                for m in bot.api.messages(user.id)
                if m.message_id > after and "1/5" in (m.text or "")
            ),
            None,
        )
    )
    await bot.press(user, first, button(first, "🙂"))
    return bot.api.message(user.id, first.message_id)


async def test_upload_fix_preview_publish_and_roll_back(bot: Harness) -> None:
    org = await bot.org(k=1)
    ada = await admin(bot, org)
    live = await bot.rt.scripts.active("staff-pulse", org)
    original = write_workbook(live.script)

    # Staff member Ben is in the middle of a check-in on the current version.
    ben = await staff(bot, org, "Ben")
    ben_screen = await check_in_to_question_2(bot, ben)

    # 1. A workbook with three mistakes: every one is reported, located.
    title_cell = cell_of(original, "survey", "lead_heading")
    column = title_cell.rstrip("0123456789")
    row = int(title_cell[len(column) :])
    broken = edited_workbook(
        original,
        {
            ("survey", f"A{row}"): "slider",  # an unknown question type
            ("survey", title_cell): "lead direction",  # an id with a space
            ("settings", "B2"): "=1+1",  # a formula
        },
    )
    replies = await upload(bot, ada, broken, "staff-pulse.xlsx")
    report = "\n".join(m.text for m in replies)
    assert "errors. Nothing was changed" in report
    assert f"survey!A{row}" in report and f"survey!{title_cell}" in report
    assert "settings!B2" in report
    assert await bot.rt.db.fetchall("SELECT id FROM script_versions WHERE org_id = ?", (org,)) == []

    # 2. Fixed: one statement reworded. The summary shows the change, with buttons.
    fixed = edited_workbook(
        original,
        {
            (
                "survey",
                _label_cell(original, "lead_heading"),
            ): "My manager explains where we are going."
        },
    )
    replies = await upload(bot, ada, fixed, "staff-pulse.xlsx")
    summary = replies[-1]
    assert "lead_heading" in summary.text
    assert [T("👁 Preview"), T("✅ Publish"), T("🗑 Discard")] == summary.button_texts

    # 3. Preview: played in the chat, nothing stored.
    answers_before = len(await bot.rt.db.fetchall("SELECT id FROM answers"))
    await bot.press(ada, summary, button(summary, T("👁 Preview")))
    preview = await bot.settle(
        lambda: next((m for m in bot.api.messages(ada.id) if "1/" in (m.text or "")), None)
    )
    await bot.press(ada, preview, button(preview, "🙂"))
    assert "2/" in bot.api.message(ada.id, preview.message_id).text
    assert len(await bot.rt.db.fetchall("SELECT id FROM answers")) == answers_before

    # 4. Publish.
    summary = bot.api.message(ada.id, summary.message_id)
    await bot.press(ada, summary, button(summary, T("✅ Publish")))
    published = bot.api.message(ada.id, summary.message_id)
    assert published.text.startswith("Published: staff-pulse version 1.")
    new = await bot.rt.scripts.active("staff-pulse", org)
    assert new.version.org_id == org and new.version.id != live.version.id

    # 5. Ben finishes on the old version; Cleo's new check-in uses the new one.
    for _ in range(4):
        screen = bot.api.message(ben.id, ben_screen.message_id)
        await bot.press(ben, screen, button(screen, "🙂"))
    versions = await bot.rt.db.fetchall(
        "SELECT DISTINCT a.script_version_id FROM answers a JOIN sessions s ON s.id = a.session_id"
        " WHERE s.person_id = (SELECT id FROM people WHERE telegram_id = ?)",
        (ben.id,),
    )
    assert [r["script_version_id"] for r in versions] == [live.version.id]
    cleo = await staff(bot, org, "Cleo")
    await check_in_to_question_2(bot, cleo)
    row_ = await bot.rt.db.fetchone(
        "SELECT script_version_id FROM sessions WHERE person_id ="
        " (SELECT id FROM people WHERE telegram_id = ?)",
        (cleo.id,),
    )
    assert row_["script_version_id"] == new.version.id
    # The digest reads answers under both versions together, matched by question id.
    today = bot.clock.now.date()
    values = await ReportRepo(bot.rt.db).snapshot(
        lambda reads: reads.staff_values(org, "equass", today - timedelta(days=7), today)
    )
    assert len({value.respondent for value in values}) == 2  # Ben's and Cleo's

    # 6. /scripts: download the live version, then roll back.
    bot.api.send_command(ada, "/scripts")
    org_listing = await bot.settle(
        lambda: next(
            (m for m in bot.api.messages(ada.id) if m.text and f"organisation {org}" in m.text),
            None,
        )
    )
    await bot.press(ada, org_listing, button(org_listing, "⬇ YAML"))
    document = await bot.settle(lambda: bot.api.calls_to("sendDocument"))
    assert document
    # Publish once more so there is an earlier version of the org's own to go back to.
    again = edited_workbook(
        original,
        {("survey", _label_cell(original, "lead_heading")): "Our manager shows the way."},
    )
    replies = await upload(bot, ada, again, "staff-pulse.xlsx")
    await bot.press(ada, replies[-1], button(replies[-1], T("✅ Publish")))
    bot.api.send_command(ada, "/scripts")
    org_listing = await bot.settle(
        lambda: next(
            (
                m
                for m in bot.api.messages(ada.id)
                if m.text and f"organisation {org}" in m.text and "version 2" in m.text
            ),
            None,
        )
    )
    await bot.press(ada, org_listing, button(org_listing, "↩"))
    rolled = await bot.rt.scripts.active("staff-pulse", org)
    assert rolled.version.version == 3
    assert "My manager explains where we are going." in rolled.version.source_text


def _label_cell(data: bytes, question_id: str) -> str:
    """The English label cell of a question's row in the survey sheet."""
    book = load_workbook(io.BytesIO(data))
    sheet = book["survey"]
    header = [c.value for c in sheet[1]]
    label = header.index("label::en") + 1
    for row in sheet.iter_rows(min_row=2):
        if question_id in [c.value for c in row]:
            return str(sheet.cell(row=row[0].row, column=label).coordinate)
    raise AssertionError(question_id)


async def test_hostile_uploads_change_nothing(bot: Harness) -> None:
    org = await bot.org()
    ada = await admin(bot, org)
    staff_user = await staff(bot, org, "Sam")
    refused = await upload(bot, staff_user, b"id: x\n", "x.yaml")
    assert refused[-1].text == T("Only administrators can send scripts. I did not open the file.")
    assert bot.api.calls_to("getFile") == []

    for data, name in (
        (b"\x00\x01\x02junk" * 100, "staff-pulse.yaml"),
        ("id: x\n".encode("utf-16"), "x.yaml"),
        (b"a: &a [1]\nb: *a\n", "bomb.yaml"),
        (b"PK\x03\x04 not really a zip", "x.xlsx"),
        (b"#!/bin/sh\nrm -rf /\n", "evil.sh"),
    ):
        replies = await upload(bot, ada, data, name)
        assert replies and all(not m.buttons for m in replies), name
    too_big = await upload(bot, ada, b"x" * (300 * 1024), "big.yaml")
    assert too_big[-1].text.startswith(T("This file cannot be used"))
    count = await bot.rt.db.fetchone(
        "SELECT count(*) AS n FROM script_versions WHERE org_id = ?", (org,)
    )
    assert count["n"] == 0
