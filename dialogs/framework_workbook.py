"""An organisation's own framework as a workbook, read into the document its YAML form gives.

The same reader as script workbooks (zip checks, row limits, formulas refused, every
value located at its cell), with two sheets of its own, which is also how an upload
is told to be a framework and not a script:

framework -- one row of values: id (`own-...`), languages (`cs, en`), needs_review,
    name::xx
items -- one row per quality area: id, name::xx, description::xx

Sheet and column names are not case-sensitive; other sheets are ignored.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from typing import Any, cast

from openpyxl import Workbook

from dialogs.model import Language, Text
from dialogs.source import Cell, LineMap, ScriptError
from dialogs.workbook_reader import _identifier, _Reader, _Sheet, _words, open_workbook
from dialogs.workbook_writer import _Writer
from frameworks import Framework

FRAMEWORK, ITEMS = "framework", "items"
KEY = "framework"  # the document's top-level key, as in the YAML form
COLUMNS: dict[str, dict[str, bool]] = {
    FRAMEWORK: {"id": False, "languages": False, "needs_review": False, "name": True},
    ITEMS: {"id": False, "name": True, "description": True},
}
_SHEET_NAME = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\bname=\"([^\"]*)\"", re.IGNORECASE)
_DIRECTORY_LIMIT = 1024 * 1024


def sheet_names(data: bytes) -> set[str]:
    """The workbook's sheet names, lower case, read from its directory; nothing is parsed.

    Only the small `xl/workbook.xml` is read, and only after the caller's size check; a
    file that is not a readable zip has none (the script reader then says why).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > _DIRECTORY_LIMIT:
                return set()
            found = _SHEET_NAME.findall(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError):
        return set()
    return {name.decode("utf-8", "replace").strip().lower() for name in found}


def read_framework_workbook(
    data: bytes, file: str
) -> tuple[dict[str, Any] | None, LineMap, list[ScriptError]]:
    """The workbook as `{framework: {...}}`, its cell map, and the errors found reading it."""
    lines = LineMap()
    book, errors = open_workbook(data, file)
    if book is None:
        return None, lines, errors
    try:
        reader = _Reader(file, lines, COLUMNS)
        sheets = reader.sheets(book, (FRAMEWORK, ITEMS))
        if sheets is None:
            return None, lines, reader.errors
        return {KEY: _framework(reader, sheets)}, lines, reader.errors
    finally:
        book.close()


def _framework(reader: _Reader, sheets: dict[str, _Sheet]) -> dict[str, Any]:
    head = sheets[FRAMEWORK]
    reader.lines.add((), Cell(head.title, 1, 1))
    reader.lines.add((KEY,), Cell(head.title, 1, 1))
    out: dict[str, Any] = {}
    if not head.rows:
        message = "the framework sheet needs one row of values under the column names"
        reader.error(Cell(head.title, 2, 1), (KEY,), message, "missing_key")
    else:
        for extra in head.rows[1:]:
            message = "the framework sheet has one row of values; this is another"
            reader.error(head.first(extra), (KEY,), message)
        row = head.rows[0]
        reader.scalar(head, row, "id", (KEY,), out, _identifier)
        reader.scalar(head, row, "languages", (KEY,), out, _words)
        reader.scalar(head, row, "needs_review", (KEY,), out, _words)
        reader.languages = [x for x in out.get("languages", []) if isinstance(x, str)]
        name = reader.text(head, row, "name", (KEY, "name"))
        if name is not None:
            out["name"] = name
    items = sheets[ITEMS]
    reader.lines.add((KEY, "items"), Cell(items.title, 1, 1))
    listed: list[dict[str, Any]] = []
    for index, row in enumerate(items.rows):
        path = (KEY, "items", index)
        reader.lines.add(path, items.first(row))
        item: dict[str, Any] = {}
        reader.scalar(items, row, "id", path, item, _identifier)
        for column in ("name", "description"):
            texts = reader.text(items, row, column, (*path, column))
            if texts is not None:
                item[column] = texts
        listed.append(item)
    out["items"] = listed
    return out


def write_framework_workbook(framework: Framework, languages: tuple[str, ...]) -> bytes:
    """The framework as a workbook that `read_framework_workbook` reads back to the same."""
    book = Workbook()
    book.remove(book.worksheets[0])
    written = cast(list[Language], list(languages))

    def texts(values: Mapping[str, str]) -> Text | None:
        return cast(Text, {x: values[x] for x in written if values.get(x)}) or None

    head = _Writer(book.create_sheet(FRAMEWORK), FRAMEWORK, written, COLUMNS)
    head.next_row()
    head.put("id", framework.id)
    head.put("languages", ", ".join(languages))
    head.put("needs_review", ", ".join(x for x in framework.needs_review if x in written) or None)
    head.text("name", texts(framework.names), "name")
    items = _Writer(book.create_sheet(ITEMS), ITEMS, written, COLUMNS)
    for item in framework.items.values():
        items.next_row()
        items.put("id", item.id)
        items.text("name", texts(item.names), item.id)
        items.text("description", texts(item.description), item.id)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
