"""`carecheck script ...` against a database in a temporary directory."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest

from bot.cli.main import main
from dialogs import SHIPPED_SCRIPTS
from dialogs.validate import validate_source
from dialogs.workbook_reader import validate_workbook
from dialogs.workbook_writer import write_workbook
from storage import Database, OrgRepo
from tests.fake_clock import FakeClock
from tests.scriptdocs import to_yaml
from tests.test_workbook import at, edit, open_book, row_of

CLOCK = FakeClock()

STAFF = (SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "c.db"))
    monkeypatch.setenv("CARECHECK_SECRET_FILE", str(tmp_path / "c.secret"))
    monkeypatch.delenv("CARECHECK_CONFIG", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["script", *args])
    out, err = capsys.readouterr()
    return code, out, err


def edited_staff(tmp_path: Path) -> Path:
    result = validate_source(STAFF, "s.yaml")
    assert result.script is not None
    doc = result.script.model_dump(by_alias=True, exclude_none=True)
    added = copy.deepcopy(doc["sections"][0]["questions"][0])
    added["id"] = "lead_new"
    doc["sections"][0]["questions"].append(added)
    path = tmp_path / "staff.yaml"
    path.write_text(to_yaml(doc), encoding="utf-8")
    return path


def listed(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    code, out, _ = run(capsys, "list")
    assert code == 0
    return [line.split() for line in out.splitlines()[1:]]


def test_validate_reads_yaml_and_workbooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = validate_source(STAFF, "s.yaml").script
    assert script is not None
    book = tmp_path / "staff.xlsx"
    book.write_bytes(write_workbook(script))
    code, out, _ = run(capsys, "validate", str(SHIPPED_SCRIPTS / "staff-pulse.yaml"), str(book))
    assert code == 0
    assert out.splitlines()[1] == f"{book}: ok (staff-pulse, 40 questions)"


def test_validate_lists_located_workbook_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = validate_source(STAFF, "s.yaml").script
    assert script is not None
    data = write_workbook(script)
    survey = open_book(data)["survey"]
    first, second = row_of(survey, "lead_heading"), row_of(survey, "lead_values")
    data = edit(
        data, "survey", {("label::en", first): None, ("show_if", second): "lead_heading <="}
    )
    path = tmp_path / "broken.xlsx"
    path.write_bytes(data)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"broken.xlsx:{at(survey, 'label::en', first)}: sections[0].questions[0].text: "
        "missing language 'en'",
        f"broken.xlsx:{at(survey, 'show_if', second)}: sections[0].questions[1].show_if: "
        "the condition ends too early (at character 16)",
    ]
    assert err == "1 of 1 files have errors\n"


def test_publish_list_show_rollback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [row[:4] + row[6:7] for row in listed(capsys)] == [
        ["service-user", "global", "1", "yaml", "carecheck"],
        ["staff-pulse", "global", "1", "yaml", "carecheck"],
    ]
    code, out, _ = run(capsys, "publish", str(edited_staff(tmp_path)))
    assert code == 0
    assert out.splitlines() == [
        "staff-pulse: changes against the active version",
        "1 question added: lead_new",
        "published staff-pulse version 2 (global)",
    ]
    rows = listed(capsys)  # a new start: the shipped default must not come back
    assert rows[1][:4] + rows[1][6:7] == ["staff-pulse", "global", "2", "yaml", "terminal"]
    code, out, _ = run(capsys, "show", "staff-pulse@1")
    assert (code, out) == (0, STAFF)
    code, out, _ = run(capsys, "show", "staff-pulse", "--summary")
    assert code == 0
    assert out.splitlines()[:2] == [
        "staff-pulse version 2 (global)",
        "  title: Weekly quality check-in",
    ]
    assert "  41 questions in 10 sections:" in out.splitlines()
    code, out, _ = run(capsys, "rollback", "staff-pulse", "--to", "1")
    assert code == 0
    assert out.splitlines()[-1] == "staff-pulse: version 1 published again as version 3 (global)"
    assert "1 question removed: lead_new" in out.splitlines()
    code, out, _ = run(capsys, "show", "staff-pulse@3")
    assert out == STAFF


def test_an_invalid_file_is_not_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(STAFF.replace("scale: agree5", "scale: agree7", 1), encoding="utf-8")
    code, out, err = run(capsys, "publish", str(bad))
    assert code == 1
    assert out.startswith("bad.yaml:") and "unknown scale 'agree7'" in out
    assert err == f"{bad}: not published\n"
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\x01 not a workbook")
    code, out, _ = run(capsys, "publish", str(junk))
    assert code == 1 and "this is not an .xlsx workbook" in out
    assert [row[:3] for row in listed(capsys)] == [
        ["service-user", "global", "1"],
        ["staff-pulse", "global", "1"],
    ]


def test_an_organisations_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed(capsys)  # creates the database

    async def create_org() -> int:
        async with await Database.open(tmp_path / "c.db", clock=CLOCK) as db:
            return await OrgRepo(db).create_org("Sunny Home", "Europe/Ljubljana", "sl", 5)

    org = asyncio.run(create_org())
    code, out, _ = run(capsys, "publish", str(edited_staff(tmp_path)), "--org", str(org))
    assert code == 0
    assert out.splitlines()[-1] == f"published staff-pulse version 1 (organisation {org})"
    assert [row[:3] for row in listed(capsys)] == [
        ["service-user", "global", "1"],
        ["staff-pulse", "global", "1"],
        ["staff-pulse", "organisation", str(org)],
    ]
    code, out, _ = run(capsys, "show", "staff-pulse", "--org", str(org), "--summary")
    assert out.splitlines()[0] == f"staff-pulse version 1 (organisation {org})"
    code, out, _ = run(capsys, "show", "service-user", "--org", str(org), "--summary")
    assert out.splitlines()[0] == "service-user version 1 (global)"  # falls back


def test_export_in_both_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "staff-pulse", "--format", "yaml")
    assert (code, out) == (0, STAFF)
    target = tmp_path / "out.xlsx"
    code, _, err = run(capsys, "export", "staff-pulse", "--format", "xlsx", "--out", str(target))
    assert code == 0
    assert err.startswith(f"wrote {target} (staff-pulse-v1.xlsx, ")
    script = validate_source(STAFF, "s.yaml").script
    assert validate_workbook(target.read_bytes(), "out.xlsx").script == script
    code, out, _ = run(capsys, "validate", str(target))
    assert code == 0


def test_graph_prints_both_diagrams(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "graph", "staff-pulse")
    assert code == 0
    assert out.startswith("```mermaid\nstateDiagram-v2\n")
    assert "paused --> asking: resume" in out
    assert "flowchart TD" in out and "lead_heading" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"],
         "script 'nope' has no live version (global); scripts: service-user, staff-pulse"),
        (["show", "staff-pulse@two"], "a version is a whole number from 1, like staff-pulse@2"),
        (["show", "staff-pulse@4"], "script 'staff-pulse' has no version 4 (global)"),
        (["rollback", "staff-pulse", "--to", "4"], "script 'staff-pulse' has no version 4"),
        (["publish", "missing.yaml"], "cannot read missing.yaml"),
        (["publish", str(SHIPPED_SCRIPTS / "staff-pulse.yaml"), "--org", "9"],
         "there is no organisation 9"),
        (["graph", "staff-pulse", "--version", "3"], "has no version 3"),
    ],
)  # fmt: skip
def test_wrong_arguments_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("carecheck: ") and message in err
    assert err.count("\n") == 1
