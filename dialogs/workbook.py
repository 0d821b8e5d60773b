"""Scripts as spreadsheets: an XLSForm-like workbook that maps onto the same document as YAML.

Quality coordinators edit in a spreadsheet they already know; the workbook is
read into exactly the plain document `load_yaml` would give, with every value
located at its cell, so one validator serves both forms and its errors read
`staff.xlsx:survey!D7: sections[0].questions[3].text: missing language 'lt'`.

Sheets (names and column names are not case-sensitive; other sheets are ignored):

settings -- one row of values under the column names:
    id, audience, languages (`en, sl, de`), needs_review, title::xx, intro::xx,
    thanks::xx, questions_per_session, rotation (`cover-all` or `none`), resubmit
survey -- one row per question, inside `begin section` ... `end section` rows:
    type (scale, yes_no, choice, multi, text, nps, begin section, end section),
    name (the question's or section's id), label::xx (question text or section
    title), hint::xx, required, show_if (see `dialogs.condition_text`), maps_to
    (`equass: participation, rights; cz-sqss: 5`; `-` maps a question to
    nothing), scale (a list in choices), choices (the list a choice or multi
    question offers), max_length, follow_up::xx, follow_up_if,
    follow_up_max_length
choices -- one row per scale point or choice option:
    list_name, name (the stored value), label::xx, emoji, score; a row named
    `n/a` gives a scale's "not applicable" button. A list named in a question's
    `choices` column is that question's options; every other list is a scale.

A cell that starts with `=` is a formula and is refused, never evaluated; text
that really starts with `=` is typed with a leading apostrophe, as spreadsheets
mark text, and is written back that way.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet

from dialogs.condition_text import ConditionSyntaxError, format_condition, parse_condition
from dialogs.model import LANGUAGES, Option, Question, Script, Text
from dialogs.source import Cell, LineMap, Path_, ScriptError, format_path
from dialogs.validate import FrameworkIndex, Validation, validate_document
from dialogs.workbook_guard import check_workbook_bytes

SETTINGS, SURVEY, CHOICES, HELP = "settings", "survey", "choices", "help"
MAX_ROWS = 5000
MAX_COLUMNS = 60
NOT_APPLICABLE = "n/a"
BEGIN, END = "begin section", "end section"
NO_MAPPING = "-"

# Column name -> does it take a language (`label::en`)?
COLUMNS: dict[str, dict[str, bool]] = {
    SETTINGS: {
        "id": False,
        "audience": False,
        "languages": False,
        "needs_review": False,
        "title": True,
        "intro": True,
        "thanks": True,
        "questions_per_session": False,
        "rotation": False,
        "resubmit": False,
    },
    SURVEY: {
        "type": False,
        "name": False,
        "label": True,
        "hint": True,
        "required": False,
        "show_if": False,
        "maps_to": False,
        "scale": False,
        "choices": False,
        "max_length": False,
        "follow_up": True,
        "follow_up_if": False,
        "follow_up_max_length": False,
    },
    CHOICES: {"list_name": False, "name": False, "label": True, "emoji": False, "score": False},
}
SECTION_COLUMNS = frozenset({"type", "name", "label", "maps_to"})
_GROUP_WORDS = {"begin section": BEGIN, "begin group": BEGIN, "end section": END, "end group": END}


class WorkbookExportError(ValueError):
    """A script holds something a spreadsheet cell cannot (a control character)."""


# ---------------------------------------------------------------- reading


def validate_workbook(
    data: bytes, file: str = "<workbook>", frameworks: FrameworkIndex | None = None
) -> Validation:
    """Read and validate a workbook upload: every error at once, each at its cell."""
    document, lines, errors = read_workbook(data, file)
    if document is None:
        return Validation(None, errors, lines)
    return validate_document(document, file, lines, frameworks, errors)


def read_workbook(
    data: bytes, file: str
) -> tuple[dict[str, Any] | None, LineMap, list[ScriptError]]:
    """The workbook as the plain document YAML would give, its cell map, and the errors so far.

    The document is None when the file cannot be read at all (not a workbook,
    a zip bomb, too many rows, a sheet missing).
    """
    lines = LineMap()
    errors = check_workbook_bytes(data, file)
    if errors:
        return None, lines, errors
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises anything from KeyError to XML errors on bad input
        message = f"the workbook cannot be read: {type(exc).__name__}: {exc}"[:300]
        return None, lines, [ScriptError(file, None, "", message, "not_xlsx")]
    try:
        reader = _Reader(file, lines)
        sheets = reader.sheets(book)
        if sheets is None:
            return None, lines, reader.errors
        return reader.document(sheets), lines, reader.errors
    finally:
        book.close()


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    language: str | None
    index: int


@dataclass(slots=True)
class _Row:
    number: int
    values: dict[int, Any]


@dataclass
class _Sheet:
    kind: str  # settings | survey | choices
    title: str  # as written in the workbook, for error locations
    columns: list[_Column] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)

    def column(self, name: str) -> _Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def texts(self, name: str) -> list[_Column]:
        return [c for c in self.columns if c.name == name and c.language is not None]

    def cell(self, row: _Row, name: str) -> Cell | None:
        column = self.column(name)
        return None if column is None else Cell(self.title, row.number, column.index)

    def get(self, row: _Row, name: str) -> Any:
        column = self.column(name)
        return None if column is None else row.values.get(column.index)

    def first(self, row: _Row) -> Cell:
        return Cell(self.title, row.number, min(row.values, default=1))


@dataclass
class _List:
    """One list of the choices sheet: options with their rows, and a scale's n/a row."""

    name: str
    rows: list[tuple[_Row, dict[str, Any]]] = field(default_factory=list)
    not_applicable: tuple[_Row, dict[str, str]] | None = None


class _Reader:
    def __init__(self, file: str, lines: LineMap) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ScriptError] = []
        self.languages: list[str] = []
        self.choices_sheet: _Sheet | None = None

    def error(self, where: Cell | None, path: Path_, message: str, code: str = "invalid") -> None:
        self.errors.append(ScriptError(self.file, where, format_path(path), message, code))

    # ---- sheets and cells ----

    def sheets(self, book: Any) -> dict[str, _Sheet] | None:
        found: dict[str, Any] = {}
        for worksheet in book.worksheets:
            kind = worksheet.title.strip().lower()
            if kind in COLUMNS and kind not in found:
                found[kind] = worksheet
        missing = [k for k in (SETTINGS, SURVEY) if k not in found]
        if missing:
            names = ", ".join(repr(ws.title) for ws in book.worksheets)
            for kind in missing:
                self.error(None, (), f"no sheet named {kind!r} (the workbook has {names})", "sheet")
            return None
        sheets = {}
        for kind, worksheet in found.items():
            sheet = self._sheet(kind, worksheet)
            if sheet is None:
                return None
            sheets[kind] = sheet
        return sheets

    def _sheet(self, kind: str, worksheet: Any) -> _Sheet | None:
        """Read one sheet's cells, stopping at the row limit before anything large is built."""
        sheet = _Sheet(kind, worksheet.title)
        header: dict[int, Any] = {}
        rows = worksheet.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS + 1)
        for number, cells in enumerate(rows, start=1):
            if number > MAX_ROWS:
                where = Cell(sheet.title, number, 1)
                message = f"the {kind} sheet has more than {MAX_ROWS} rows"
                self.error(where, (), message, "too_many_rows")
                return None
            values = self._values(sheet, number, cells)
            if number == 1:
                header = values
            elif values:
                sheet.rows.append(_Row(number, values))
        self._header(sheet, header)
        return sheet

    def _values(self, sheet: _Sheet, number: int, cells: Any) -> dict[int, Any]:
        values: dict[int, Any] = {}
        for index, cell in enumerate(cells, start=1):
            value = cell.value
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            where = Cell(sheet.title, number, index)
            if index > MAX_COLUMNS:
                self.error(where, (), f"a sheet has at most {MAX_COLUMNS} columns", "too_many")
                continue
            kind = getattr(cell, "data_type", "s")
            if kind == "f" or (
                isinstance(value, str) and value.startswith("=") and not _quoted(cell)
            ):
                message = (
                    "formulas are not allowed; type the text itself "
                    "(start it with an apostrophe if it begins with '=')"
                )
                self.error(where, (), message, "formula")
                continue
            if kind == "e":
                self.error(where, (), f"the cell holds the error {value!r}", "type")
                continue
            values[index] = value
        return values

    def _header(self, sheet: _Sheet, header: dict[int, Any]) -> None:
        known = COLUMNS[sheet.kind]
        seen: set[tuple[str, str | None]] = set()
        for index, raw in sorted(header.items()):
            where = Cell(sheet.title, 1, index)
            name, language = _column_name(raw)
            if name not in known:
                listed = ", ".join(f"{c}::xx" if t else c for c, t in known.items())
                self.error(
                    where, (), f"unknown column {raw!r}; the {sheet.kind} sheet has {listed}",
                    "unknown_key",
                )  # fmt: skip
                continue
            if known[name] and not language:
                self.error(where, (), f"column {name!r} needs a language, like {name}::en")
                continue
            if not known[name] and language:
                self.error(where, (), f"column {name!r} has no languages; name it {name!r}")
                continue
            if (name, language) in seen:
                self.error(where, (), f"column {raw!r} appears twice", "duplicate_key")
                continue
            seen.add((name, language))
            sheet.columns.append(_Column(name, language, index))
        named = {c.index for c in sheet.columns} | set(header)
        for index in sorted({i for row in sheet.rows for i in row.values} - named):
            row = next(r for r in sheet.rows if index in r.values)
            where = Cell(sheet.title, row.number, index)
            self.error(where, (), "this column has no name in the first row", "unknown_key")

    def text(self, sheet: _Sheet, row: _Row, name: str, path: Path_) -> dict[str, str] | None:
        """A text in every language column of `name`; located at the first empty one it needs."""
        columns = sheet.texts(name)
        out: dict[str, str] = {}
        gap: Cell | None = None
        for column in columns:
            where = Cell(sheet.title, row.number, column.index)
            assert column.language is not None
            self.lines.add((*path, column.language), where)
            value = row.values.get(column.index)
            if value is None:
                if gap is None and column.language in self.languages:
                    gap = where
                continue
            out[column.language] = _as_text(value)
        if gap is not None:
            self.lines.add(path, gap)
        elif columns:
            self.lines.add(path, Cell(sheet.title, row.number, columns[0].index))
        return out or None

    def scalar(self, sheet: _Sheet, row: _Row, name: str, path: Path_, into: dict[str, Any]) -> Any:
        """Copy one plain cell into the document under its own key, located."""
        where = sheet.cell(row, name)
        if where is not None:
            self.lines.add((*path, name), where)
        value = sheet.get(row, name)
        if value is not None:
            into[name] = _plain(value)
        return value

    # ---- the document ----

    def document(self, sheets: dict[str, _Sheet]) -> dict[str, Any]:
        settings = sheets[SETTINGS]
        doc = self.settings(settings)
        self.choices_sheet = sheets.get(CHOICES)
        lists = self.lists(self.choices_sheet)
        survey = sheets[SURVEY]
        self.lines.add(("sections",), Cell(survey.title, 1, 1))
        used_as_options: set[str] = set()
        used_as_scales: set[str] = set()
        doc["sections"] = self.sections(survey, lists, used_as_options, used_as_scales)
        # A list no question names is a scale if its values are numbers (scale points
        # are); one of words is a choice list whose question lost it, reported there.
        scales = {
            name: self.scale(sheets[CHOICES], item)
            for name, item in lists.items()
            if name in used_as_scales or (name not in used_as_options and _numbered(item))
        }
        if CHOICES in sheets:
            self.lines.add(("scales",), Cell(sheets[CHOICES].title, 1, 1))
        if scales:
            doc["scales"] = scales
        return doc

    def settings(self, sheet: _Sheet) -> dict[str, Any]:
        self.lines.add((), Cell(sheet.title, 1, 1))
        doc: dict[str, Any] = {}
        if not sheet.rows:
            message = "the settings sheet needs one row of values under the column names"
            self.error(Cell(sheet.title, 2, 1), (), message, "missing_key")
            return doc
        for extra in sheet.rows[1:]:
            message = "the settings sheet has one row of values; this is another"
            self.error(sheet.first(extra), (), message)
        row = sheet.rows[0]
        for name in ("id", "audience"):
            where = sheet.cell(row, name)
            if where is not None:
                self.lines.add((name,), where)
            value = sheet.get(row, name)
            if value is not None:
                doc[name] = _word(value)
        for name in ("languages", "needs_review"):
            where = sheet.cell(row, name)
            if where is not None:
                self.lines.add((name,), where)
            value = sheet.get(row, name)
            if value is not None:
                doc[name] = _words(value)
        self.languages = [x for x in doc.get("languages", []) if isinstance(x, str)]
        for name in ("title", "intro", "thanks"):
            text = self.text(sheet, row, name, (name,))
            if text is not None:
                doc[name] = text
        pulse: dict[str, Any] = {}
        for name in ("questions_per_session", "rotation"):
            where = sheet.cell(row, name)
            if where is not None:
                self.lines.add(("pulse",), where)
                self.lines.add(("pulse", name), where)
            value = sheet.get(row, name)
            if value is not None:
                pulse[name] = _word(value) if name == "rotation" else _plain(value)
        if pulse:
            doc["pulse"] = pulse
        self.scalar(sheet, row, "resubmit", (), doc)
        if "resubmit" in doc:
            doc["resubmit"] = _flag(doc["resubmit"])
        return doc

    def lists(self, sheet: _Sheet | None) -> dict[str, _List]:
        lists: dict[str, _List] = {}
        if sheet is None:
            return lists
        for row in sheet.rows:
            raw_list = sheet.get(row, "list_name")
            raw_name = sheet.get(row, "name")
            if raw_list is None:
                self.error(sheet.first(row), (), "this row has no list_name", "missing_key")
                continue
            item = lists.setdefault(_identifier(raw_list), _List(_identifier(raw_list)))
            if isinstance(raw_name, str) and raw_name.strip().lower() == NOT_APPLICABLE:
                if item.not_applicable is not None:
                    message = f"list {item.name!r} has a second {NOT_APPLICABLE!r} row"
                    self.error(sheet.cell(row, "name"), (), message, "duplicate_key")
                    continue
                item.not_applicable = (row, {})
                continue
            option: dict[str, Any] = {}
            if raw_name is None:
                where = sheet.cell(row, "label") or sheet.first(row)
                self.error(
                    where, (), "this option has no name (the value it stores)", "missing_key"
                )
            else:
                option["value"] = _option_value(raw_name)
            item.rows.append((row, option))
        return lists

    def options(self, sheet: _Sheet, item: _List, path: Path_) -> list[dict[str, Any]]:
        """A list's options as document data, each field located at its choices cell."""
        out = []
        for k, (row, base) in enumerate(item.rows):
            where = (*path, k)
            self.lines.add(where, sheet.first(row))
            option = dict(base)
            name_cell = sheet.cell(row, "name")
            if name_cell is not None:
                self.lines.add((*where, "value"), name_cell)
            label = self.text(sheet, row, "label", (*where, "label"))
            if label is not None:
                option["label"] = label
            for name in ("emoji", "score"):
                cell = sheet.cell(row, name)
                if cell is not None:
                    self.lines.add((*where, name), cell)
                value = sheet.get(row, name)
                if value is not None:
                    option[name] = _as_text(value) if name == "emoji" else _plain(value)
            out.append(option)
        return out

    def scale(self, sheet: _Sheet, item: _List) -> dict[str, Any]:
        path: Path_ = ("scales", item.name)
        first = item.rows[0] if item.rows else item.not_applicable
        anchor = first[0] if first is not None else None
        if anchor is not None:
            self.lines.add(path, sheet.cell(anchor, "list_name") or sheet.first(anchor))
            self.lines.add((*path, "options"), sheet.first(anchor))
        scale: dict[str, Any] = {"options": self.options(sheet, item, (*path, "options"))}
        if item.not_applicable is not None:
            row = item.not_applicable[0]
            text = self.text(sheet, row, "label", (*path, "not_applicable"))
            self.lines.add((*path, "not_applicable"), sheet.first(row))
            scale["not_applicable"] = text if text is not None else {}
        return scale

    def sections(
        self,
        sheet: _Sheet,
        lists: dict[str, _List],
        used_as_options: set[str],
        used_as_scales: set[str],
    ) -> list[dict[str, Any]]:
        sections: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        opened: _Row | None = None
        for row in sheet.rows:
            raw_type = sheet.get(row, "type")
            if raw_type is None:
                where = sheet.cell(row, "type") or sheet.first(row)
                self.error(where, (), "this row has no type", "missing_key")
                continue
            group = _GROUP_WORDS.get(re.sub(r"[\s_]+", " ", str(raw_type).strip().lower()))
            if group == BEGIN:
                if current is not None and opened is not None:
                    message = f"section {current.get('id')!r} has no 'end section' row before this"
                    self.error(sheet.cell(row, "type"), ("sections", len(sections) - 1), message)
                current = self.section(sheet, row, len(sections))
                opened = row
                sections.append(current)
            elif group == END:
                name = sheet.get(row, "name")
                if current is None:
                    message = "'end section' without a 'begin section' above it"
                    self.error(sheet.cell(row, "type"), (), message, "section")
                elif name is not None and _identifier(name) != current.get("id"):
                    message = (
                        f"'end section' names {name!r}, but section {current.get('id')!r} is open"
                    )
                    self.error(sheet.cell(row, "name"), ("sections", len(sections) - 1), message)
                current = None
                opened = None
            elif current is None:
                message = "a question must be inside a section: add a 'begin section' row above it"
                self.error(sheet.cell(row, "type"), (), message, "section")
            else:
                path = ("sections", len(sections) - 1, "questions", len(current["questions"]))
                question = self.question(sheet, row, path, lists, used_as_options, used_as_scales)
                current["questions"].append(question)
        if current is not None and opened is not None:
            message = f"section {current.get('id')!r} has no 'end section' row"
            self.error(
                sheet.cell(opened, "type"), ("sections", len(sections) - 1), message, "section"
            )
        return sections

    def section(self, sheet: _Sheet, row: _Row, index: int) -> dict[str, Any]:
        path: Path_ = ("sections", index)
        self.lines.add(path, sheet.cell(row, "type") or sheet.first(row))
        self.lines.add((*path, "questions"), sheet.cell(row, "type") or sheet.first(row))
        section: dict[str, Any] = {}
        name = sheet.get(row, "name")
        self.lines.add((*path, "id"), sheet.cell(row, "name") or sheet.first(row))
        if name is not None:
            section["id"] = _identifier(name)
        title = self.text(sheet, row, "label", (*path, "title"))
        if title is not None:
            section["title"] = title
        mapping = self.mapping(sheet, row, (*path, "maps_to"))
        if mapping is not None:
            section["maps_to"] = mapping
        for column in sheet.columns:
            if column.name not in SECTION_COLUMNS and column.index in row.values:
                where = Cell(sheet.title, row.number, column.index)
                message = f"column {column.name!r} does not apply to a section row"
                self.error(where, path, message, "unknown_key")
        section["questions"] = []
        return section

    def question(
        self,
        sheet: _Sheet,
        row: _Row,
        path: Path_,
        lists: dict[str, _List],
        used_as_options: set[str],
        used_as_scales: set[str],
    ) -> dict[str, Any]:
        self.lines.add(path, sheet.cell(row, "type") or sheet.first(row))
        q: dict[str, Any] = {}
        self.lines.add((*path, "id"), sheet.cell(row, "name") or sheet.first(row))
        name = sheet.get(row, "name")
        if name is not None:
            q["id"] = _identifier(name)
        self.lines.add((*path, "type"), sheet.cell(row, "type") or sheet.first(row))
        q["type"] = _word(sheet.get(row, "type"))
        for key, column in (("text", "label"), ("hint", "hint")):
            text = self.text(sheet, row, column, (*path, key))
            if text is not None:
                q[key] = text
        for key in ("required", "max_length"):
            self.scalar(sheet, row, key, path, q)
        if "required" in q:
            q["required"] = _flag(q["required"])
        condition = self.condition(sheet, row, "show_if", (*path, "show_if"), follow_up=False)
        if condition is not None:
            q["show_if"] = condition
        mapping = self.mapping(sheet, row, (*path, "maps_to"))
        if mapping is not None:
            q["maps_to"] = mapping
        scale = self.scalar(sheet, row, "scale", path, q)
        if scale is not None:
            q["scale"] = _identifier(scale)
            used_as_scales.add(q["scale"])
        listed = sheet.get(row, "choices")
        if listed is not None:
            where = sheet.cell(row, "choices")
            self.lines.add((*path, "options"), where or sheet.first(row))
            item = lists.get(_identifier(listed))
            if item is None:
                message = f"no list {_identifier(listed)!r} in the choices sheet"
                self.error(where, (*path, "options"), message, "reference")
            else:
                used_as_options.add(item.name)
                if item.not_applicable is not None and item.name not in used_as_scales:
                    message = (
                        f"an {NOT_APPLICABLE!r} row belongs to a scale; choice lists have none"
                    )
                    assert self.choices_sheet is not None
                    na_row = item.not_applicable[0]
                    self.error(self.choices_sheet.cell(na_row, "name"), (*path, "options"), message)
                q["options"] = self.options_of(item, path)
        follow_up = self.follow_up(sheet, row, (*path, "follow_up"))
        if follow_up is not None:
            q["follow_up"] = follow_up
        return q

    def options_of(self, item: _List, path: Path_) -> list[dict[str, Any]]:
        assert self.choices_sheet is not None  # a list exists only if the sheet does
        return self.options(self.choices_sheet, item, (*path, "options"))

    def follow_up(self, sheet: _Sheet, row: _Row, path: Path_) -> dict[str, Any] | None:
        text = self.text(sheet, row, "follow_up", (*path, "text"))
        condition = self.condition(sheet, row, "follow_up_if", (*path, "show_if"), follow_up=True)
        limit_cell = sheet.cell(row, "follow_up_max_length")
        limit = sheet.get(row, "follow_up_max_length")
        if text is None and condition is None and limit is None:
            return None
        anchor = sheet.cell(row, "follow_up_if") or limit_cell or sheet.first(row)
        self.lines.add(path, anchor)
        out: dict[str, Any] = {}
        if condition is not None:
            out["show_if"] = condition
        if text is not None:
            out["text"] = text
        if limit_cell is not None:
            self.lines.add((*path, "max_length"), limit_cell)
        if limit is not None:
            out["max_length"] = _plain(limit)
        return out

    def condition(
        self, sheet: _Sheet, row: _Row, column: str, path: Path_, *, follow_up: bool
    ) -> dict[str, Any] | None:
        where = sheet.cell(row, column)
        if where is not None:
            self.lines.add(path, where)
        value = sheet.get(row, column)
        if value is None:
            return None
        try:
            return parse_condition(_as_text(value), follow_up=follow_up)
        except ConditionSyntaxError as exc:
            self.error(where, path, str(exc), "condition")
            return None

    def mapping(self, sheet: _Sheet, row: _Row, path: Path_) -> dict[str, list[str]] | None:
        where = sheet.cell(row, "maps_to")
        if where is not None:
            self.lines.add(path, where)
        value = sheet.get(row, "maps_to")
        if value is None:
            return None
        try:
            return parse_mapping(_as_text(value))
        except ValueError as exc:
            self.error(where, path, str(exc), "maps_to")
            return None


# ---------------------------------------------------------------- cell values


def parse_mapping(text: str) -> dict[str, list[str]]:
    """`equass: participation, rights; cz-sqss: 5` as {framework: [items]}; `-` is no mapping."""
    if text.strip() == NO_MAPPING:
        return {}
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        framework, colon, items = part.partition(":")
        framework = framework.strip()
        if not colon or not framework:
            raise ValueError(
                f"write maps_to as 'framework: item, item; framework: item', not {part.strip()!r}"
            )
        if framework in out:
            raise ValueError(f"framework {framework!r} is named twice")
        out[framework] = [item for item in re.split(r"[,\s]+", items.strip()) if item]
    return out


def format_mapping(mapping: dict[str, list[str]]) -> str:
    if not mapping:
        return NO_MAPPING
    return "; ".join(f"{fw}: {', '.join(items)}".rstrip() for fw, items in mapping.items())


def _column_name(raw: Any) -> tuple[str, str | None]:
    """`Label::English (en)` -> ("label", "en"); `list name` -> ("list_name", None)."""
    text = str(raw).strip()
    name, colons, language = text.partition("::")
    name = re.sub(r"[\s-]+", "_", name.strip().lower())
    if not colons:
        return name, None
    language = language.strip()
    inside = re.search(r"\(([^()]+)\)\s*$", language)
    return name, (inside.group(1) if inside else language).strip().lower()


def _quoted(cell: Any) -> bool:
    """Whether a spreadsheet marked the cell as text with a leading apostrophe."""
    style = getattr(cell, "style_array", None)
    return bool(getattr(style, "quotePrefix", False))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _plain(value: Any) -> Any:
    """A number or a word for pydantic to check: integral floats become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime | date | time | timedelta):
        return _as_text(value)
    return value


def _word(value: Any) -> Any:
    """A keyword cell (type, audience, rotation): spreadsheets capitalise, scripts don't."""
    return value.strip().lower() if isinstance(value, str) else _plain(value)


def _words(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [w.lower() for w in re.split(r"[,;\s]+", value.strip()) if w]
    return [_plain(value)]


def _identifier(value: Any) -> str:
    return _as_text(value).strip()


def _option_value(value: Any) -> Any:
    """Scale points are numbers, choice values are words; `"3"` typed as text is still 3."""
    value = _plain(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _numbered(item: _List) -> bool:
    return all(isinstance(option.get("value"), int) for _row, option in item.rows)


def _flag(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# ---------------------------------------------------------------- writing

_HEADER_FONT = Font(bold=True)
_WIDTHS = {"label": 48, "follow_up": 32, "hint": 28, "title": 32, "intro": 48, "thanks": 40}
_HELP = [
    ("sheet / column", "what it holds"),
    ("settings", "one row of values: the script's id, audience, languages and texts"),
    ("languages", "the languages every text needs, like: en, sl, de"),
    ("rotation", "cover-all (each session asks questions_per_session, rotating) or none"),
    ("survey", "one row per question, between 'begin section' and 'end section' rows"),
    ("type", "scale, yes_no, choice, multi, text, nps, begin section, end section"),
    ("name", "the question's id; keep it when rewording, give a new id when the meaning changes"),
    ("label::xx", "the question text (or the section title) in language xx"),
    ("required", "yes if the question cannot be skipped (staff scripts only)"),
    ("show_if", "ask only when: q1 <= 2 | q2 = yes | q3 in (1, 2) | q4 contains meals"),
    ("", "q5 answered | q5 not answered | all(a, b) | any(a, b) | not(a)"),
    ("maps_to", "framework items: equass: participation, rights; cz-sqss: 5 ('-' for none)"),
    ("scale", "the list in the choices sheet a scale question uses"),
    ("choices", "the list in the choices sheet a choice or multi question offers"),
    ("follow_up::xx", "an optional comment asked after the answer, when follow_up_if holds"),
    ("follow_up_if", "like show_if, about the answer itself: answer <= 2 | answer = no"),
    ("choices", "one row per button: list_name, name (the stored value), label::xx, emoji"),
    ("n/a", "a row named n/a gives a scale its 'not applicable' button"),
    ("formulas", "are refused; to start a text with '=', type an apostrophe before it"),
]


def write_workbook(script: Script) -> bytes:
    """The script as a workbook that `read_workbook` reads back to an equal script."""
    book = Workbook()
    book.remove(book.active)
    languages = _languages(script)
    _write_settings(book.create_sheet(SETTINGS), script, languages)
    option_lists = _option_list_names(script)
    _write_survey(book.create_sheet(SURVEY), script, languages, option_lists)
    _write_choices(book.create_sheet(CHOICES), script, languages, option_lists)
    help_sheet = book.create_sheet(HELP)
    for line in _HELP:
        help_sheet.append(line)
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 90
    for cell in help_sheet[1]:
        cell.font = _HEADER_FONT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _languages(script: Script) -> list[str]:
    """Every language any text uses, declared ones first, so no text is lost on the way."""
    used = set(script.languages)
    for text in _all_texts(script):
        used.update(text)
    return [
        *script.languages,
        *[lang for lang in LANGUAGES if lang in used and lang not in script.languages],
    ]


def _all_texts(script: Script) -> list[Text]:
    texts: list[Text | None] = [script.title, script.intro, script.thanks]
    for scale in script.scales.values():
        texts += [o.label for o in scale.options] + [scale.not_applicable]
    for section in script.sections:
        texts.append(section.title)
        for q in section.questions:
            texts += [q.text, q.hint, q.follow_up.text if q.follow_up else None]
            texts += [o.label for o in q.options or []]
    return [t for t in texts if t is not None]


def _option_list_names(script: Script) -> dict[str, str]:
    """The choices-sheet list of each choice or multi question, clear of the scale names."""
    taken = set(script.scales)
    names = {}
    for q in script.questions():
        if q.options is None:
            continue
        name = q.id
        counter = 1
        while name in taken:
            name = f"{q.id}-options" if counter == 1 else f"{q.id}-options{counter}"
            counter += 1
        taken.add(name)
        names[q.id] = name
    return names


class _Writer:
    """Rows under a header, each value put by column name; text cells stay text."""

    def __init__(self, sheet: Worksheet, columns: list[tuple[str, str | None]]) -> None:
        self.sheet = sheet
        self.index = {c: i for i, c in enumerate(columns, start=1)}
        self.row = 1
        for (name, language), i in self.index.items():
            cell = sheet.cell(1, i, f"{name}::{language}" if language else name)
            cell.font = _HEADER_FONT
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = _WIDTHS.get(name, 14)
        sheet.freeze_panes = "A2"

    def next_row(self) -> None:
        self.row += 1

    def put(self, name: str, value: Any, language: str | None = None, where: str = "") -> None:
        if value is None:
            return
        cell = self.sheet.cell(self.row, self.index[(name, language)])
        try:
            cell.value = value
        except IllegalCharacterError:
            raise WorkbookExportError(
                f"{where or name}: has a control character a spreadsheet cannot hold"
            ) from None
        if isinstance(value, str):
            if value.startswith("="):
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True
            if name in _WIDTHS:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    def text(self, name: str, text: Text | None, languages: list[str], where: str) -> None:
        for language in languages:
            self.put(name, (text or {}).get(language), language, f"{where}.{language}")  # type: ignore[call-overload]


def _text_columns(name: str, languages: list[str]) -> list[tuple[str, str | None]]:
    return [(name, lang) for lang in languages]


def _write_settings(sheet: Worksheet, script: Script, languages: list[str]) -> None:
    columns: list[tuple[str, str | None]] = [("id", None), ("audience", None), ("languages", None)]
    columns += [("needs_review", None)]
    for name in ("title", "intro", "thanks"):
        columns += _text_columns(name, languages)
    columns += [("questions_per_session", None), ("rotation", None), ("resubmit", None)]
    out = _Writer(sheet, columns)
    out.next_row()
    out.put("id", script.id)
    out.put("audience", script.audience)
    out.put("languages", ", ".join(script.languages))
    out.put("needs_review", ", ".join(script.needs_review) or None)
    out.text("title", script.title, languages, "title")
    out.text("intro", script.intro, languages, "intro")
    out.text("thanks", script.thanks, languages, "thanks")
    out.put("questions_per_session", script.pulse.questions_per_session)
    out.put("rotation", script.pulse.rotation)
    out.put("resubmit", "yes" if script.resubmit else "no")


def _write_survey(
    sheet: Worksheet, script: Script, languages: list[str], option_lists: dict[str, str]
) -> None:
    columns: list[tuple[str, str | None]] = [("type", None), ("name", None)]
    columns += _text_columns("label", languages) + _text_columns("hint", languages)
    columns += [(name, None) for name in ("required", "show_if", "maps_to", "scale", "choices")]
    columns += [("max_length", None), *_text_columns("follow_up", languages)]
    columns += [("follow_up_if", None), ("follow_up_max_length", None)]
    out = _Writer(sheet, columns)
    for i, section in enumerate(script.sections):
        out.next_row()
        out.put("type", BEGIN)
        out.put("name", section.id)
        out.text("label", section.title, languages, f"sections[{i}].title")
        out.put("maps_to", format_mapping(section.maps_to) if section.maps_to else None)
        for j, question in enumerate(section.questions):
            out.next_row()
            _write_question(out, question, languages, option_lists, f"sections[{i}].questions[{j}]")
        out.next_row()
        out.put("type", END)
        out.put("name", section.id)


def _write_question(
    out: _Writer, q: Question, languages: list[str], option_lists: dict[str, str], where: str
) -> None:
    out.put("type", q.type)
    out.put("name", q.id)
    out.text("label", q.text, languages, f"{where}.text")
    out.text("hint", q.hint, languages, f"{where}.hint")
    out.put("required", "yes" if q.required else None)
    if q.show_if is not None:
        out.put("show_if", format_condition(q.show_if), where=f"{where}.show_if")
    if q.maps_to is not None:
        out.put("maps_to", format_mapping(q.maps_to))
    out.put("scale", q.scale)
    out.put("choices", option_lists.get(q.id))
    out.put("max_length", q.max_length)
    if q.follow_up is not None:
        out.text("follow_up", q.follow_up.text, languages, f"{where}.follow_up.text")
        condition = format_condition(q.follow_up.show_if, follow_up=True)
        out.put("follow_up_if", condition, where=f"{where}.follow_up.show_if")
        if q.follow_up.max_length != 500:
            out.put("follow_up_max_length", q.follow_up.max_length)


def _write_choices(
    sheet: Worksheet, script: Script, languages: list[str], option_lists: dict[str, str]
) -> None:
    columns: list[tuple[str, str | None]] = [("list_name", None), ("name", None)]
    columns += [*_text_columns("label", languages), ("emoji", None), ("score", None)]
    out = _Writer(sheet, columns)

    def options(list_name: str, items: list[Option], where: str) -> None:
        for k, option in enumerate(items):
            out.next_row()
            out.put("list_name", list_name)
            out.put("name", option.value)
            out.text("label", option.label, languages, f"{where}[{k}].label")
            out.put("emoji", option.emoji or None, where=f"{where}[{k}].emoji")
            out.put("score", option.score)

    for name, scale in script.scales.items():
        options(name, scale.options, f"scales.{name}.options")
        if scale.not_applicable is not None:
            out.next_row()
            out.put("list_name", name)
            out.put("name", NOT_APPLICABLE)
            out.text("label", scale.not_applicable, languages, f"scales.{name}.not_applicable")
    for i, section in enumerate(script.sections):
        for j, q in enumerate(section.questions):
            if q.options is not None:
                where = f"sections[{i}].questions[{j}].options"
                options(option_lists[q.id], q.options, where)
