"""`carecheck export --format xlsx`: the CSV's rows, a summary per framework, no formulas."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli.main import main
from bot.infra.config import load_settings
from bot.services.answer_export import SUMMARY_COLUMNS, write_csv, write_xlsx
from bot.services.digests.demo_data import create_demo
from bot.services.runtime import Runtime, open_runtime
from tests.fake_clock import FakeClock
from tests.test_digest import TODAY, add_session

CLOCK = FakeClock()


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


def as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


async def test_the_workbook_holds_the_csv_rows_and_summaries(
    runtime: Runtime, tmp_path: Path
) -> None:
    demo = await create_demo(
        runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, weeks=2, staff=8, users=40
    )
    await add_session(
        runtime, demo.org_id, "service_user", None, TODAY,
        [("su_better", None, '=HYPERLINK("http://evil.example","click")'),
         ("su_safe", 5.0, "bell\x07 and tab\tinside")],
    )  # fmt: skip
    path = tmp_path / "audit.xlsx"
    count = await write_xlsx(runtime.db, runtime.frameworks, path, demo.org_id, None, "cs")
    text = io.StringIO()
    assert await write_csv(runtime.db, text, demo.org_id, None) == count
    expected = list(csv.reader(io.StringIO(text.getvalue())))

    book = load_workbook(path)
    assert book.sheetnames == ["answers"] + [f"summary {f}" for f in runtime.frameworks.ids()]
    assert {"summary equass", "summary cz-sqss", "summary eqalin"} < set(book.sheetnames)
    rows = [[as_text(v) for v in row] for row in book["answers"].iter_rows(values_only=True)]
    assert rows == [[cell.replace("\x07", "") for cell in row] for row in expected]
    assert len(rows) == count + 1 > 100
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    assert any(r[-1] == '\'=HYPERLINK("http://evil.example","click")' for r in rows)

    # Answers carry their ISO week, never their day.
    week = rows[0].index("week")
    assert "day" not in rows[0] and all(re.fullmatch(r"\d{4}-W\d\d", r[week]) for r in rows[1:])

    # The summary means, counted by hand over every scored answer of the organisation.
    def by_hand(conn: sqlite3.Connection) -> dict[tuple[str, str], list[tuple[str, float]]]:
        scores: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
        for item, audience, who, score in conn.execute(
            "SELECT q.item_id, a.audience, coalesce(s.person_id, -s.id), a.score FROM answers a"
            " JOIN question_items q ON q.script_version_id = a.script_version_id"
            " AND q.question_id = a.question_id JOIN sessions s ON s.id = a.session_id"
            " WHERE q.framework = 'cz-sqss' AND a.org_id = ? AND a.score IS NOT NULL",
            (demo.org_id,),
        ):
            scores[(item, audience)].append((who, score))
        return scores

    scores = await runtime.db.run(by_hand)
    summary = list(book["summary cz-sqss"].iter_rows(values_only=True))
    assert summary[0] == SUMMARY_COLUMNS
    assert len(summary) == 1 + 15 * 2
    few = 0
    for framework, number, item, _name, audience, answers, people, mean, *_, note in summary[1:]:
        values = scores.get((item, audience), [])
        assert (framework, str(number)) == ("cz-sqss", item)
        if 0 < len({who for who, _ in values}) < 5:
            few += 1  # a group below k: nothing of it, only why
            assert (answers, people, mean, note) == (None, None, None, "méně než 5 osob: neuvedeno")
            continue
        assert answers == len(values) and note is None
        expected = round(sum(v for _, v in values) / len(values), 2) if values else None
        assert mean == expected
    assert few >= 1  # the demo's small groups exist and are withheld
    assert summary[1][3] == "Cíle a způsoby poskytování sociální služby"


def test_the_command_needs_a_file_and_refuses_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "cli.db"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--weeks", "1", "--staff", "5", "--users", "10"]) == 0
    capsys.readouterr()

    assert main(["export", "--format", "xlsx"]) == 2
    assert "give --out FILE" in capsys.readouterr().err
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["export", "--format", "xlsx", "--out", "-"]) == 2
    assert "a workbook is binary" in capsys.readouterr().err
    assert main(["export", "--format", "xlsx", "--org", "9", "--out", "x.xlsx"]) == 2
    assert "there is no organisation 9" in capsys.readouterr().err

    assert main(["export", "--format", "xlsx", "--org", "1", "--out", "audit.xlsx"]) == 0
    assert "answers exported" in capsys.readouterr().err
    assert load_workbook(tmp_path / "audit.xlsx")["answers"].max_row > 1
    assert main(["export", "--since", "2026-11-01", "--out", "audit.csv"]) == 0
    assert (tmp_path / "audit.csv").read_text().startswith("script,script_version,")
