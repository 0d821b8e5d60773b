"""The workbook form of scripts: round trips, located errors, friendly spellings.

The helpers at the top (edit cells by column name, find rows by name) are used
by the other workbook tests too.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl.utils import get_column_letter

from dialogs import SHIPPED_SCRIPTS
from dialogs.export import script_to_yaml
from dialogs.model import Script
from dialogs.validate import validate_source
from dialogs.workbook_layout import format_mapping, parse_mapping
from dialogs.workbook_reader import read_workbook, validate_workbook
from dialogs.workbook_writer import WorkbookExportError, write_workbook
from tests.scriptdocs import (
    STUB,
    build,
    choice_q,
    document,
    documents,
    full_document,
    scale,
    scale_q,
    section,
    to_yaml,
    tr,
    yes_no_q,
)

# ---- helpers ----


def open_book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def save(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def columns(sheet: Any) -> dict[str, int]:
    return {str(c.value): c.column for c in sheet[1] if c.value is not None}


def row_of(sheet: Any, name: str, kind: str | None = None) -> int:
    """The row whose `name` column is `name` (and whose `type` is `kind`, when given)."""
    cols = columns(sheet)
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, cols["name"]).value != name:
            continue
        if kind is None or sheet.cell(row, cols["type"]).value == kind:
            return row
    raise AssertionError(f"no row named {name!r}")


def at(sheet: Any, column: str, row: int) -> str:
    """`survey!D7`: where an error about that cell is reported."""
    return f"{sheet.title}!{get_column_letter(columns(sheet)[column])}{row}"


def edit(data: bytes, sheet: str, changes: dict[tuple[str, int], Any]) -> bytes:
    """Set cells by (column name, row number)."""
    book = open_book(data)
    ws = book[sheet]
    cols = columns(ws)
    for (column, row), value in changes.items():
        ws.cell(row, cols[column]).value = value
    return save(book)


def located(data: bytes, name: str = "staff.xlsx") -> list[tuple[str, str, str]]:
    """(cell, path, code) of every error, in the order they are reported."""
    result = validate_workbook(data, name, STUB)
    assert result.script is None
    return [(str(e.line), e.path, e.code) for e in result.errors]


def shipped(name: str) -> Script:
    result = validate_source((SHIPPED_SCRIPTS / name).read_bytes(), name)
    assert result.ok and result.script is not None
    return result.script


FULL = build(full_document(("en", "sl", "lt")))

# ---- round trips ----


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED_SCRIPTS.glob("*.yaml")))
def test_shipped_scripts_round_trip_exactly(name: str) -> None:
    script = shipped(name)
    data = write_workbook(script)
    result = validate_workbook(data, name.replace(".yaml", ".xlsx"))
    assert result.errors == []
    assert result.script == script
    # and onwards to YAML text and back, and again to the same workbook content
    again = validate_source(script_to_yaml(result.script), "again.yaml")
    assert again.script == script
    assert validate_workbook(write_workbook(again.script)).script == script


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_random_scripts_round_trip_yaml_workbook_yaml(doc: dict[str, Any]) -> None:
    first = validate_source(to_yaml(doc), "a.yaml", STUB)
    assert first.ok and first.script is not None, [str(e) for e in first.errors]
    book = validate_workbook(write_workbook(first.script), "a.xlsx", STUB)
    assert book.errors == [] and book.script is not None
    back = validate_source(script_to_yaml(book.script), "b.yaml", STUB)
    assert back.errors == []
    assert back.script == first.script


def test_the_workbook_an_admin_sees() -> None:
    book = open_book(write_workbook(FULL))
    assert book.sheetnames == ["settings", "survey", "choices", "help"]
    survey = book["survey"]
    assert list(columns(survey))[:5] == ["type", "name", "label::en", "label::sl", "label::lt"]
    kinds = [survey.cell(r, 1).value for r in range(2, survey.max_row + 1)]
    assert kinds == [
        "begin section", "scale", "scale", "yes_no", "choice", "multi", "end section",
        "begin section", "nps", "scale", "text", "end section",
    ]  # fmt: skip
    cols = columns(survey)
    when = row_of(survey, "when")
    assert survey.cell(when, cols["show_if"]).value == "safe = yes"
    assert survey.cell(when, cols["choices"]).value == "when"
    plan = row_of(survey, "plan")
    assert survey.cell(plan, cols["follow_up_if"]).value == "answer <= 2"
    assert survey.cell(plan, cols["required"]).value == "yes"
    recommend = row_of(survey, "recommend")
    assert survey.cell(recommend, cols["maps_to"]).value == "cz-sqss: 5"
    daily = row_of(survey, "daily", "begin section")
    assert survey.cell(daily, cols["maps_to"]).value == "equass: participation"
    choices = book["choices"]
    rows = [
        (choices.cell(r, 1).value, choices.cell(r, 2).value) for r in range(2, choices.max_row + 1)
    ]
    assert rows[:6] == [("agree5", v) for v in (1, 2, 3, 4, 5)] + [("agree5", "n/a")]
    assert ("when", "often") in rows and ("help", "meals") in rows
    settings_sheet = book["settings"]
    values = {
        str(settings_sheet.cell(1, c).value): settings_sheet.cell(2, c).value
        for c in range(1, settings_sheet.max_column + 1)
    }
    assert values["id"] == "test-script"
    assert values["languages"] == "en, sl, lt"
    assert values["rotation"] == "none"


def test_a_text_starting_with_equals_stays_text() -> None:
    doc = document([section("s", [yes_no_q("q1")])])
    doc["title"] = {"en": "=SUM(A1:A9) is not a formula", "sl": "=1+1"}
    script = build(doc)
    data = write_workbook(script)
    cell = open_book(data)["settings"]["E2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (
        "=SUM(A1:A9) is not a formula",
        "s",
        True,
    )
    assert validate_workbook(data, "x.xlsx", STUB).script == script


def test_a_control_character_cannot_go_into_a_workbook() -> None:
    doc = document([section("s", [yes_no_q("q1")])])
    doc["sections"][0]["questions"][0]["text"]["sl"] = "bell \x07 here"
    with pytest.raises(WorkbookExportError, match=r"sections\[0\].questions\[0\].text.sl"):
        write_workbook(build(doc))


def test_choice_lists_keep_clear_of_scale_names() -> None:
    doc = document([section("s", [scale_q("q1"), choice_q("agree5"), choice_q("agree5-options")])])
    script = build(doc)
    data = write_workbook(script)
    survey = open_book(data)["survey"]
    cols = columns(survey)
    lists = [survey.cell(r, cols["choices"]).value for r in range(2, survey.max_row + 1)]
    assert [x for x in lists if x] == ["agree5-options", "agree5-options-options"]
    assert validate_workbook(data, "x.xlsx", STUB).script == script


# ---- located errors ----


def test_every_mistake_is_reported_at_its_cell() -> None:
    data = write_workbook(FULL)
    book = open_book(data)
    survey, settings_sheet, choices = book["survey"], book["settings"], book["choices"]
    daily = row_of(survey, "daily", "begin section")
    plan, trust, safe = row_of(survey, "plan"), row_of(survey, "trust"), row_of(survey, "safe")
    when, help_ = row_of(survey, "when"), row_of(survey, "help")
    cols = columns(survey)
    survey.cell(daily, cols["maps_to"]).value = "equass participation"
    survey.cell(plan, cols["scale"]).value = "agree7"
    survey.cell(trust, cols["label::lt"]).value = None
    survey.cell(safe, cols["show_if"]).value = "trust <== 2"
    survey.cell(when, cols["required"]).value = "maybe"
    survey.cell(help_, cols["label::en"]).value = "=1+1"
    survey.cell(1, 30).value = "colour"
    settings_sheet.cell(2, columns(settings_sheet)["audience"]).value = "everyone"
    choices.cell(3, columns(choices)["label::sl"]).value = None
    assert located(save(book)) == [
        (at(choices, "label::sl", 3), "scales.agree5.options[1].label", "language"),
        (at(settings_sheet, "audience", 2), "audience", "type"),
        ("survey!AD1", "", "unknown_key"),
        (at(survey, "maps_to", daily), "sections[0].maps_to", "maps_to"),
        (at(survey, "scale", plan), "sections[0].questions[0].scale", "reference"),
        (at(survey, "label::lt", trust), "sections[0].questions[1].text", "language"),
        (at(survey, "show_if", safe), "sections[0].questions[2].show_if", "condition"),
        (at(survey, "required", when), "sections[0].questions[3].required", "type"),
        (at(survey, "label::en", help_), "", "formula"),
        (at(survey, "label::en", help_), "sections[0].questions[4].text", "language"),
    ]


def test_an_error_reads_file_sheet_cell_path_and_message() -> None:
    script = build(full_document(("en", "sl", "lt")))
    data = write_workbook(script)
    survey = open_book(data)["survey"]
    row = row_of(survey, "safe")
    data = edit(data, "survey", {("label::lt", row): None})
    result = validate_workbook(data, "staff.xlsx", STUB)
    assert [str(e) for e in result.errors] == [
        f"staff.xlsx:{at(survey, 'label::lt', row)}: sections[0].questions[2].text: "
        "missing language 'lt'"
    ]


def test_missing_keys_point_at_the_cell_to_fill() -> None:
    data = write_workbook(FULL)
    survey = open_book(data)["survey"]
    plan = row_of(survey, "plan")
    changes = {("follow_up_if", plan): None, ("name", row_of(survey, "trust")): None}
    changes.update(
        {(f"label::{lang}", row_of(survey, "safe")): None for lang in ("en", "sl", "lt")}
    )
    errors = located(edit(data, "survey", changes))
    assert (at(survey, "follow_up_if", plan), "sections[0].questions[0].follow_up.show_if",
            "missing_key") in errors  # fmt: skip
    assert (at(survey, "name", row_of(survey, "trust")), "sections[0].questions[1].id",
            "missing_key") in errors  # fmt: skip
    assert (at(survey, "label::en", row_of(survey, "safe")), "sections[0].questions[2].text",
            "missing_key") in errors  # fmt: skip


def test_sections_must_open_and_close() -> None:
    data = write_workbook(FULL)
    survey = open_book(data)["survey"]
    daily_end = row_of(survey, "daily", "end section")
    voice = row_of(survey, "voice", "begin section")
    voice_end = row_of(survey, "voice", "end section")
    broken = edit(
        data,
        "survey",
        {("type", daily_end): None, ("name", daily_end): None, ("type", voice_end): "end group"},
    )
    book = open_book(broken)
    book["survey"].cell(voice_end + 1, 1).value = "end section"
    book["survey"].cell(voice_end + 2, 1).value = "yes_no"
    book["survey"].cell(voice_end + 2, 2).value = "stray"
    errors = located(save(book))
    assert (at(survey, "type", voice), "sections[0]", "invalid") in errors  # nested begin
    assert (at(survey, "type", voice_end + 1), "", "section") in errors  # end without begin
    assert (at(survey, "type", voice_end + 2), "", "section") in errors  # question outside
    book = open_book(data)
    book["survey"].delete_rows(voice_end)
    errors = located(save(book))
    assert errors == [(at(survey, "type", voice), "sections[1]", "section")]


def test_column_names_are_checked() -> None:
    data = write_workbook(FULL)
    book = open_book(data)
    survey = book["survey"]
    expected = [
        (at(survey, "hint::lt", 1), "", "invalid"),
        (at(survey, "show_if", 1), "", "invalid"),
        (at(survey, "max_length", 1), "", "duplicate_key"),
        ("survey!AN3", "", "unknown_key"),
        # without its column, the hint of `comment` lacks Lithuanian
        (at(survey, "hint::en", row_of(survey, "comment")), "sections[1].questions[2].hint",
         "language"),
    ]  # fmt: skip
    cols = columns(survey)
    survey.cell(1, cols["hint::lt"]).value = "hint"
    survey.cell(1, cols["show_if"]).value = "show_if::en"
    survey.cell(1, cols["max_length"]).value = "label::en"
    survey.cell(3, 40).value = "orphan"
    assert located(save(book)) == expected


def test_sheets_must_be_there() -> None:
    book = open_book(write_workbook(FULL))
    del book["survey"]
    book["settings"].title = "Settings "
    result = validate_workbook(save(book), "x.xlsx", STUB)
    assert [(e.code, e.message) for e in result.errors] == [
        ("sheet", "no sheet named 'survey' (the workbook has 'Settings ', 'choices', 'help')")
    ]


def test_settings_take_one_row() -> None:
    data = write_workbook(FULL)
    book = open_book(data)
    book["settings"]["A3"] = "second-id"
    assert located(save(book)) == [("settings!A3", "", "invalid")]
    book = open_book(data)
    book["settings"].delete_rows(2)
    errors = located(save(book))
    assert ("settings!A2", "", "missing_key") in errors


def test_list_references_are_checked() -> None:
    data = write_workbook(FULL)
    survey = open_book(data)["survey"]
    when = row_of(survey, "when")
    errors = located(edit(data, "survey", {("choices", when): "no-such-list"}))
    assert errors == [
        (at(survey, "type", when), "sections[0].questions[3]", "invalid"),  # needs options
        (at(survey, "choices", when), "sections[0].questions[3].options", "reference"),
    ]
    # a choice list with a 'not applicable' row
    book = open_book(data)
    book["choices"].append(["when", "n/a", "Skip", "Skip", "Skip"])
    row = book["choices"].max_row
    errors = located(save(book))
    assert errors == [(f"choices!B{row}", "sections[0].questions[3].options", "invalid")]


def test_a_badly_named_scale_is_not_an_unknown_language() -> None:
    data = write_workbook(FULL)
    book = open_book(data)
    choices, survey = book["choices"], book["survey"]
    for row in range(2, choices.max_row + 1):
        if choices.cell(row, 1).value == "freq3":
            choices.cell(row, 1).value = "Freq 3"
    survey.cell(row_of(survey, "trust"), columns(survey)["scale"]).value = "Freq 3"
    result = validate_workbook(save(book), "x.xlsx", STUB)
    assert "'Freq 3' is not a valid name" in " ".join(e.message for e in result.errors)
    assert all(e.code != "language" for e in result.errors)


def test_a_framework_item_that_does_not_exist_is_located() -> None:
    data = write_workbook(FULL)
    survey = open_book(data)["survey"]
    row = row_of(survey, "recommend")
    errors = located(edit(data, "survey", {("maps_to", row): "cz-sqss: 5, 99; iso: 1"}))
    assert errors == [
        (at(survey, "maps_to", row), "sections[1].questions[0].maps_to.cz-sqss[1]", "reference"),
        (at(survey, "maps_to", row), "sections[1].questions[0].maps_to.iso", "reference"),
    ]


# ---- what spreadsheets do to values ----


def test_friendly_spellings_read_the_same() -> None:
    data = write_workbook(FULL)
    book = open_book(data)
    survey, settings_sheet, choices = book["survey"], book["settings"], book["choices"]
    cols = columns(survey)
    survey.cell(1, cols["label::en"]).value = "Label::English (en)"
    survey.cell(1, cols["follow_up_if"]).value = "Follow up if"
    survey.cell(row_of(survey, "daily", "begin section"), 1).value = "Begin Group"
    survey.cell(row_of(survey, "daily", "end section"), 1).value = "end_group"
    survey.cell(row_of(survey, "trust"), 1).value = " Scale "
    survey.cell(row_of(survey, "plan"), cols["required"]).value = True
    survey.cell(row_of(survey, "comment"), cols["max_length"]).value = 50.0
    settings_cols = columns(settings_sheet)
    settings_sheet.cell(2, settings_cols["languages"]).value = "EN; SL LT"
    settings_sheet.cell(2, settings_cols["audience"]).value = "Staff"
    choices.cell(1, 1).value = "List Name"
    choices.cell(2, 2).value = "1"  # typed as text
    assert validate_workbook(save(book), "x.xlsx", STUB).script == FULL


def test_numbers_in_text_cells_are_text() -> None:
    doc = full_document(("en",))
    doc["scales"]["freq3"]["options"][0]["label"] = {"en": "1"}
    doc["scales"]["freq3"]["options"][1]["label"] = {"en": "2.5"}
    script = build(doc)
    data = write_workbook(script)
    book = open_book(data)
    choices = book["choices"]
    for row in range(2, choices.max_row + 1):
        if choices.cell(row, 1).value == "freq3" and choices.cell(row, 2).value in (1, 2):
            cell = choices.cell(row, columns(choices)["label::en"])
            cell.value = float(cell.value)  # what a spreadsheet does to "1" and "2.5"
    assert validate_workbook(save(book), "x.xlsx", STUB).script == script


def test_read_workbook_gives_the_yaml_document() -> None:
    doc = document(
        [section("s", [scale_q("q1"), yes_no_q("q2", show_if={"question": "q1", "lte": 2})])],
        scales={"agree5": scale((1, 2, 3))},
    )
    document_, _lines, errors = read_workbook(write_workbook(build(doc)), "x.xlsx")
    assert errors == []
    assert document_ is not None
    assert document_["sections"][0]["questions"][1]["show_if"] == {"question": "q1", "lte": 2}
    assert document_["scales"]["agree5"]["options"][0] == {
        "value": 1,
        "label": tr("point 1"),
        "emoji": "😞",
    }


# ---- maps_to cells ----


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("equass: participation, rights; cz-sqss: 5",
         {"equass": ["participation", "rights"], "cz-sqss": ["5"]}),
        ("equass: rights rights;", {"equass": ["rights", "rights"]}),
        ("equass:", {"equass": []}),
        ("-", {}),
        (" eqalin : residents ", {"eqalin": ["residents"]}),
    ],
)  # fmt: skip
def test_maps_to_cells(text: str, mapping: dict[str, list[str]]) -> None:
    assert parse_mapping(text) == mapping
    assert parse_mapping(format_mapping(mapping)) == mapping


@pytest.mark.parametrize("text", ["equass participation", ": rights", "equass: a; equass: b"])
def test_maps_to_mistakes(text: str) -> None:
    with pytest.raises(ValueError, match=r"maps_to|named twice"):
        parse_mapping(text)


def test_the_shipped_workbooks_are_small() -> None:
    for name in ("staff-pulse.yaml", "service-user.yaml"):
        assert len(write_workbook(shipped(name))) < 64 * 1024
