"""Reading script files safely, keeping the line of every value for error messages.

Size and encoding are checked before parsing; anchors and aliases are refused
from the event stream before anything is composed, so an alias bomb is never
expanded; duplicate keys, which YAML parsers silently overwrite, are errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from dialogs import limits

Path_ = tuple[str | int, ...]
# Far deeper than any script needs (a condition inside a question is about ten levels).
MAX_DEPTH = 40


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """A place in a workbook, where a spreadsheet script has its lines: `survey!D7`."""

    sheet: str
    row: int
    column: int

    def __str__(self) -> str:
        letters = ""
        n = self.column
        while n > 0:
            n, rest = divmod(n - 1, 26)
            letters = chr(ord("A") + rest) + letters
        return f"{self.sheet}!{letters}{self.row}"


# A line number in a text file, or a cell in a workbook.
Location = int | Cell


def location_key(location: Location | None) -> tuple[str, int, int]:
    """Sorts errors by place: unlocated first, then by line, or by sheet, row and column."""
    if isinstance(location, Cell):
        return (location.sheet, location.row, location.column)
    return ("", location or 0, 0)


@dataclass(frozen=True, slots=True)
class ScriptError:
    """One located problem in a script document."""

    file: str
    line: Location | None
    path: str
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class LineMap:
    """The line (or workbook cell) of each value in a document, by its path from the root."""

    def __init__(self) -> None:
        self._lines: dict[Path_, Location] = {}

    def add(self, path: Path_, line: Location) -> None:
        self._lines.setdefault(path, line)

    def line(self, path: Path_) -> Location | None:
        """The line of `path`, or of its nearest ancestor that exists."""
        for cut in range(len(path), -1, -1):
            line = self._lines.get(path[:cut])
            if line is not None:
                return line
        return None


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def decode(data: bytes | str, file: str) -> tuple[str | None, list[ScriptError]]:
    """Bytes to text, refusing what is too big, binary or not UTF-8."""
    # a str with lone surrogates (read with surrogateescape) becomes bytes that fail below
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > limits.MAX_FILE_BYTES:
        msg = f"the file has {len(raw)} bytes; the limit is {limits.MAX_FILE_BYTES}"
        return None, [ScriptError(file, None, "", msg, "too_big")]
    if b"\x00" in raw:
        return None, [ScriptError(file, None, "", "this is not a text file", "binary")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts `start` after a byte order mark: count in what it decoded
        line = exc.object[: exc.start].count(b"\n") + 1
        msg = "the file is not UTF-8 text; save it as UTF-8"
        return None, [ScriptError(file, line, "", msg, "encoding")]
    return text, []


def load_yaml(data: bytes | str, file: str) -> tuple[Any, LineMap, list[ScriptError]]:
    """Parse one YAML document into plain data plus the line of every value."""
    lines = LineMap()
    text, errors = decode(data, file)
    if text is None:
        return None, lines, errors
    try:
        errors = _refuse_references(text, file)
        if errors:
            return None, lines, errors
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        return None, lines, [ScriptError(file, line, "", f"YAML syntax: {problem}", "syntax")]
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else 0
        msg = f"YAML does not allow the control character #x{char:04x}"
        return None, lines, [ScriptError(file, line, "", msg, "syntax")]
    except yaml.YAMLError as exc:
        return None, lines, [ScriptError(file, None, "", f"YAML: {exc}", "syntax")]
    if node is None:
        return None, lines, [ScriptError(file, 1, "", "the document is empty", "empty")]
    builder = _Builder(file, lines)
    value = builder.build(node, ())
    return value, lines, builder.errors


def _refuse_references(text: str, file: str) -> list[ScriptError]:
    errors: list[ScriptError] = []
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                # composing and building recurse per level; refuse before they overflow
                msg = f"the document is nested more than {MAX_DEPTH} levels deep"
                return [*errors, ScriptError(file, line, "", msg, "nesting")]
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.AliasEvent):
            errors.append(ScriptError(file, line, "", "YAML aliases (*) are not allowed", "alias"))
        elif getattr(event, "anchor", None):
            errors.append(ScriptError(file, line, "", "YAML anchors (&) are not allowed", "alias"))
    return errors


class _Builder:
    """Node tree to plain Python, recording lines and duplicate keys."""

    def __init__(self, file: str, lines: LineMap) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ScriptError] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines.add(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path)
                if not isinstance(key, str | int):
                    self._error(key_node, path, "keys must be plain words")
                    continue
                if key in out:
                    self._error(key_node, (*path, key), "this key appears twice", "duplicate_key")
                    continue
                self.lines.add((*path, key), key_node.start_mark.line + 1)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            value = self._scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, LookupError, AttributeError, OverflowError):
            # `!!int abc`, `!!timestamp soon`, `!!bool maybe` fail outside YAMLError
            self._error(node, path, f"unsupported YAML tag {node.tag!r}", "tag")
            return None
        if not isinstance(value, str | int | float | bool | type(None)):
            # dates and other tagged scalars are kept as the text that was written
            return str(node.value)
        return value

    def _error(self, node: yaml.Node, path: Path_, message: str, code: str = "invalid") -> None:
        line = node.start_mark.line + 1
        self.errors.append(ScriptError(self.file, line, format_path(path), message, code))
