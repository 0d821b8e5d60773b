"""Reading a script workbook: the plain document YAML would give, every value located at its cell.

One validator then serves both forms, and its errors read
`staff.xlsx:survey!D7: sections[0].questions[3].text: missing language 'lt'`.
The layout itself is described in `dialogs.workbook_layout`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import load_workbook

from dialogs.condition_text import ConditionSyntaxError, parse_condition
from dialogs.source import Cell, LineMap, Path_, ScriptError, format_path
from dialogs.validate import FrameworkIndex, Validation, validate_document
from dialogs.workbook_guard import check_workbook_bytes
from dialogs.workbook_layout import (
    BEGIN,
    CHOICES,
    COLUMNS,
    END,
    NOT_APPLICABLE,
    SETTINGS,
    SURVEY,
    parse_mapping,
)

MAX_ROWS = 5000
MAX_COLUMNS = 60
SECTION_COLUMNS = frozenset({"type", "name", "label", "maps_to"})
_GROUP_WORDS = {"begin section": BEGIN, "begin group": BEGIN, "end section": END, "end group": END}


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
    book, errors = open_workbook(data, file)
    if book is None:
        return None, lines, errors
    try:
        reader = _Reader(file, lines)
        sheets = reader.sheets(book)
        if sheets is None:
            return None, lines, reader.errors
        return reader.document(sheets), lines, reader.errors
    finally:
        book.close()


def open_workbook(data: bytes, file: str) -> tuple[Any, list[ScriptError]]:
    """The workbook opened for reading once its zip passed every check, or why it cannot be."""
    errors = check_workbook_bytes(data, file)
    if errors:
        return None, errors
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises anything from KeyError to XML errors on bad input
        message = f"the workbook cannot be read: {type(exc).__name__}: {exc}"[:300]
        return None, [ScriptError(file, None, "", message, "not_xlsx")]
    return book, []


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
    """Cells to a located document; `columns` names the sheets it reads and their columns."""

    def __init__(
        self, file: str, lines: LineMap, columns: dict[str, dict[str, bool]] = COLUMNS
    ) -> None:
        self.file = file
        self.lines = lines
        self.columns = columns
        self.errors: list[ScriptError] = []
        self.languages: list[str] = []
        self.choices_sheet: _Sheet | None = None

    def error(self, where: Cell | None, path: Path_, message: str, code: str = "invalid") -> None:
        self.errors.append(ScriptError(self.file, where, format_path(path), message, code))

    # ---- sheets and cells ----

    def sheets(
        self, book: Any, required: tuple[str, ...] = (SETTINGS, SURVEY)
    ) -> dict[str, _Sheet] | None:
        found: dict[str, Any] = {}
        for worksheet in book.worksheets:
            kind = worksheet.title.strip().lower()
            if kind in self.columns and kind not in found:
                found[kind] = worksheet
        missing = [k for k in required if k not in found]
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
        known = self.columns[sheet.kind]
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

    def scalar(
        self,
        sheet: _Sheet,
        row: _Row,
        name: str,
        path: Path_,
        into: dict[str, Any],
        read: Callable[[Any], Any],
    ) -> Any:
        """Copy one cell into the document under its own key, located, as `read` makes it."""
        where = sheet.cell(row, name)
        if where is not None:
            self.lines.add((*path, name), where)
        value = sheet.get(row, name)
        if value is not None:
            into[name] = read(value)
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
        for name, read in (
            ("id", _word),
            ("audience", _word),
            ("languages", _words),
            ("needs_review", _words),
        ):
            self.scalar(sheet, row, name, (), doc, read)
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
        self.scalar(sheet, row, "resubmit", (), doc, _plain)
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
            self.scalar(sheet, row, key, path, q, _plain)
        if "required" in q:
            q["required"] = _flag(q["required"])
        condition = self.condition(sheet, row, "show_if", (*path, "show_if"), follow_up=False)
        if condition is not None:
            q["show_if"] = condition
        mapping = self.mapping(sheet, row, (*path, "maps_to"))
        if mapping is not None:
            q["maps_to"] = mapping
        scale = self.scalar(sheet, row, "scale", path, q, _plain)
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
        rule = self.condition(sheet, row, "safeguard_if", (*path, "safeguard_if"), follow_up=True)
        if rule is not None:
            q["safeguard_if"] = rule
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
