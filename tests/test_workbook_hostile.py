"""Hostile and broken workbooks: each is refused with a clear message, nothing is evaluated."""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest

from dialogs import limits
from dialogs.source import ScriptError
from dialogs.workbook_guard import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES
from dialogs.workbook_reader import MAX_COLUMNS, MAX_ROWS, validate_workbook
from dialogs.workbook_writer import write_workbook
from tests.scriptdocs import STUB, build, full_document
from tests.test_workbook import at, open_book, row_of, save

MIB = 1024 * 1024
SKELETON = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def only_error(data: bytes, file: str = "upload.xlsx") -> ScriptError:
    result = validate_workbook(data, file, STUB)
    assert result.script is None
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    return result.errors[0]


def good_workbook() -> bytes:
    return write_workbook(build(full_document()))


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = zip_of({**SKELETON, "xl/worksheets/sheet1.xml": b" " * (MAX_MEMBER_BYTES + MIB)})
    assert len(bomb) < limits.MAX_FILE_BYTES  # small on the wire
    error = only_error(bomb)
    assert error.code == "zip_bomb"
    assert str(error) == (
        f"upload.xlsx: the workbook part xl/worksheets/sheet1.xml unpacks to "
        f"{MAX_MEMBER_BYTES + MIB} bytes or more; the limit is {MAX_MEMBER_BYTES}"
    )


def test_many_medium_parts_add_up_to_a_bomb() -> None:
    parts = {f"xl/media/part{i}.xml": b" " * (MAX_MEMBER_BYTES - 1) for i in range(3)}
    error = only_error(zip_of({**SKELETON, **parts}))
    assert error.code == "zip_bomb"
    assert f"the limit is {MAX_TOTAL_BYTES}" in error.message


def test_a_zip_header_that_understates_the_size_is_caught() -> None:
    name = b"xl/worksheets/sheet1.xml"
    data = bytearray(zip_of({**SKELETON, name.decode(): b" " * MIB}))
    # its central directory entry claims 100 bytes instead of a MiB
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.index(b"PK\x01\x02", entry + 1)
    struct.pack_into("<I", data, entry + 24, 100)
    error = only_error(bytes(data))
    assert error.code in ("zip_bomb", "not_xlsx")
    assert "xl/worksheets/sheet1.xml" in error.message


def test_too_many_parts() -> None:
    parts = {f"xl/media/{i}.xml": b"<x/>" for i in range(MAX_MEMBERS)}
    error = only_error(zip_of({**SKELETON, **parts}))
    assert (error.code, error.message) == (
        "zip_bomb",
        f"the workbook has {MAX_MEMBERS + 2} parts; the limit is {MAX_MEMBERS}",
    )


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,  # binary junk
        b"PK\x03\x04" + bytes(range(256)) * 40,  # junk after a zip signature
        b"id: staff-pulse\naudience: staff\n",  # YAML with the wrong name
        zip_of({"hello.txt": b"hello"}),  # a zip, but no workbook
        b"",
    ],
    ids=["junk", "zip-signature-junk", "yaml", "other-zip", "empty"],
)
def test_what_is_not_a_workbook_is_said_so(data: bytes) -> None:
    error = only_error(data, "script.xlsx")
    assert error.code == "not_xlsx"
    assert str(error).startswith("script.xlsx: this is not an .xlsx workbook")


def test_a_workbook_whose_xml_cannot_be_parsed() -> None:
    members = members_of(good_workbook())
    members["xl/workbook.xml"] = b"<workbook><sheets><sheet"
    error = only_error(zip_of(members))
    assert error.code == "not_xlsx"
    assert error.message.startswith("the workbook cannot be read: ")


def test_xml_entities_are_refused() -> None:
    members = members_of(good_workbook())
    sheet = members["xl/worksheets/sheet2.xml"]
    laughs = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    members["xl/worksheets/sheet2.xml"] = laughs + sheet
    error = only_error(zip_of(members))
    assert error.code == "xml_entities"
    assert "xl/worksheets/sheet2.xml" in error.message


def test_macros_are_refused() -> None:
    members = {**members_of(good_workbook()), "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}
    error = only_error(zip_of(members), "script.xlsm.xlsx")
    assert error.code == "macro"


def test_an_encrypted_part_is_refused() -> None:
    data = bytearray(good_workbook())
    entry = data.index(b"PK\x01\x02")
    data[entry + 8] |= 0x1  # the "encrypted" flag in the central directory
    assert only_error(bytes(data)).code == "encrypted"


def test_a_file_over_the_limit_is_refused_unread() -> None:
    data = b"PK\x03\x04" + bytes(limits.MAX_FILE_BYTES)
    error = only_error(data)
    assert (error.code, error.message) == (
        "too_big",
        f"the file has {len(data)} bytes; the limit is {limits.MAX_FILE_BYTES}",
    )


def test_ten_thousand_rows_are_refused_at_the_row_limit() -> None:
    book = openpyxl.Workbook(write_only=True)
    settings = book.create_sheet("settings")
    settings.append(["id", "audience", "languages", "title::en", "thanks::en"])
    settings.append(["big", "staff", "en", "Big", "Thanks"])
    survey = book.create_sheet("survey")
    survey.append(["type", "name", "label::en"])
    survey.append(["begin section", "all", None])
    for i in range(10_000):
        survey.append(["yes_no", f"q{i}", "Is it fine?"])
    out = io.BytesIO()
    book.save(out)
    error = only_error(out.getvalue(), "big.xlsx")
    assert error.code == "too_many_rows"
    assert (
        str(error)
        == f"big.xlsx:survey!A{MAX_ROWS + 1}: the survey sheet has more than {MAX_ROWS} rows"
    )


def test_a_cell_far_to_the_right_is_refused() -> None:
    book = open_book(good_workbook())
    book["survey"].cell(3, MAX_COLUMNS + 1).value = "far"
    result = validate_workbook(save(book), "x.xlsx", STUB)
    assert [(str(e.line), e.code) for e in result.errors] == [("survey!BI3", "too_many")]


def test_formulas_are_refused_where_they_are_and_never_evaluated() -> None:
    book = open_book(good_workbook())
    survey = book["survey"]
    plan, trust = row_of(survey, "plan"), row_of(survey, "trust")
    expected = [at(survey, "label::en", plan), at(survey, "label::sl", trust)]
    survey.cell(plan, 3).value = "=SUM(1,2)"  # a real formula
    cell = survey.cell(trust, 4)
    cell.value = '=HYPERLINK("http://example.org","click")'
    cell.data_type = "s"  # text that a spreadsheet would turn into a formula when edited
    result = validate_workbook(save(book), "x.xlsx", STUB)
    formulas = [e for e in result.errors if e.code == "formula"]
    assert [str(e.line) for e in formulas] == expected
    assert all("formulas are not allowed" in e.message for e in formulas)
    assert result.script is None


def test_text_marked_with_an_apostrophe_may_start_with_equals() -> None:
    book = open_book(good_workbook())
    survey = book["survey"]
    cell = survey.cell(row_of(survey, "plan"), 3)
    cell.value = "= is how it starts"
    cell.data_type = "s"
    cell.quotePrefix = True
    result = validate_workbook(save(book), "x.xlsx", STUB)
    assert result.errors == []
    assert result.script is not None
    assert result.script.questions()[0].text["en"] == "= is how it starts"
