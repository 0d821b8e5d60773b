"""Script validation: every error at once, each with file:line and its path.

Structure (types, unknown and missing keys) is pydantic's job; the rules that
need the whole document (languages, ids, references, condition order, sizes,
framework items) run here on the raw data, so a document with structural
errors still gets its semantic errors reported in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeGuard

from pydantic import ValidationError

from dialogs import limits
from dialogs.model import CONDITION_KEYS, LANGUAGES, Script
from dialogs.source import (
    LineMap,
    Location,
    Path_,
    ScriptError,
    format_path,
    load_yaml,
    location_key,
)

NUMERIC_TYPES = frozenset({"scale", "nps"})
ORDER_OPS = ("lt", "lte", "gt", "gte")


class FrameworkIndex(Protocol):
    """What validation needs of the frameworks: do a framework and an item exist?"""

    def __contains__(self, framework_id: object) -> bool: ...
    def item(self, framework_id: str, item_id: str) -> object | None: ...


@dataclass
class Validation:
    script: Script | None
    errors: list[ScriptError] = field(default_factory=list)
    lines: LineMap = field(default_factory=LineMap)

    @property
    def ok(self) -> bool:
        return self.script is not None and not self.errors


def validate_file(path: Path, frameworks: FrameworkIndex | None = None) -> Validation:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Validation(None, [ScriptError(str(path), None, "", f"cannot read: {exc.strerror}")])
    return validate_source(data, str(path), frameworks)


def validate_source(
    data: bytes | str, file: str = "<script>", frameworks: FrameworkIndex | None = None
) -> Validation:
    document, lines, errors = load_yaml(data, file)
    if document is None and errors:
        return Validation(None, errors, lines)
    return validate_document(document, file, lines, frameworks, errors)


def validate_document(
    document: Any,
    file: str,
    lines: LineMap,
    frameworks: FrameworkIndex | None = None,
    errors: list[ScriptError] | None = None,
) -> Validation:
    """Validate parsed data (from YAML or a workbook) located by `lines`."""
    errors = list(errors or [])
    if not isinstance(document, dict):
        errors.append(ScriptError(file, 1, "", "a script is a mapping of keys to values"))
        return Validation(None, errors, lines)
    if frameworks is None:
        from frameworks import default_frameworks

        frameworks = default_frameworks()
    errors += _structure_errors(document, file, lines)
    errors += _Rules(document, file, lines, frameworks).run()
    errors = _unique(errors)
    if errors:
        return Validation(None, sorted(errors, key=lambda e: (location_key(e.line), e.path)), lines)
    return Validation(Script.model_validate(document), [], lines)


def _structure_errors(document: dict[str, Any], file: str, lines: LineMap) -> list[ScriptError]:
    try:
        Script.model_validate(document)
    except ValidationError as exc:
        out = []
        seen: set[Path_] = set()
        for error in exc.errors():
            loc = _data_path(document, error["loc"])
            if loc in seen:
                continue  # a union reports once per member; one message is enough
            seen.add(loc)
            out.append(_from_pydantic(error, loc, file, lines))
        return out
    return []


def _data_path(document: Any, loc: tuple[Any, ...]) -> Path_:
    """Pydantic's error location without its union tags ('int', 'str'...).

    A tag is dropped only where the data has no such key, so that a key the
    author wrote, such as an unknown top-level key `int`, stays in the path.
    """
    out: list[Any] = []
    node = document
    for part in loc:
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not inside and _is_union_tag(part):
            continue
        node = node[part] if inside else None
        out.append(part)
    return tuple(out)


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and (
        part in ("int", "str", "float", "list[...]", "constrained-str")
        or part.startswith(("function-", "literal["))
    )


def _from_pydantic(error: Any, loc: Path_, file: str, lines: LineMap) -> ScriptError:
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        key = loc[-1] if loc else "?"
        if len(loc) >= 2 and loc[-2] in ("scales", "maps_to"):
            # names of scales and frameworks, not languages, are the keys there
            message = f"{key!r} is not a valid name ({error['msg'].lower()})"
            return ScriptError(file, lines.line(loc), format_path(loc), message, "type")
        message = f"unknown language {key!r}"
        return ScriptError(file, lines.line(loc), format_path(loc), message, "language")
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        code = "unknown_key"
    elif kind == "missing":
        message = f"missing key {loc[-1]!r}"
        code = "missing_key"
    else:
        message = error["msg"].removeprefix("Value error, ")
        code = "type"
    return ScriptError(file, lines.line(loc), format_path(loc), message, code)


def _unique(errors: list[ScriptError]) -> list[ScriptError]:
    seen: set[tuple[Location | None, str, str]] = set()
    out = []
    for error in errors:
        key = (error.line, error.path, error.message)
        if key not in seen:
            seen.add(key)
            out.append(error)
    return out


class _Rules:
    """The cross-document rules, written defensively over raw data."""

    def __init__(
        self, doc: dict[str, Any], file: str, lines: LineMap, frameworks: FrameworkIndex
    ) -> None:
        self.doc = doc
        self.file = file
        self.lines = lines
        self.frameworks = frameworks
        self.errors: list[ScriptError] = []
        declared = doc.get("languages")
        # an unsupported language is reported once by the structure check, not once per text
        self.languages = [x for x in declared if x in LANGUAGES] if _is_list(declared) else []
        scales = doc.get("scales")
        self.scales: dict[str, Any] = scales if isinstance(scales, dict) else {}

    def err(self, path: Path_, message: str, code: str = "invalid") -> None:
        self.errors.append(
            ScriptError(self.file, self.lines.line(path), format_path(path), message, code)
        )

    def run(self) -> list[ScriptError]:
        self._languages()
        for key, limit in (
            ("title", limits.MAX_TITLE_CHARS),
            ("intro", limits.MAX_INTRO_CHARS),
            ("thanks", limits.MAX_INTRO_CHARS),
        ):
            self.text((key,), limit, required=key != "intro")
        for name, scale in self.scales.items():
            if isinstance(scale, dict):
                self._options(("scales", name, "options"), scale.get("options"), numeric=True)
                self.text(("scales", name, "not_applicable"), limits.MAX_BUTTON_LABEL_CHARS, False)
        questions = list(self._questions())
        if len(questions) > limits.MAX_QUESTIONS:
            self.err(
                ("sections",),
                f"{len(questions)} questions; the limit is {limits.MAX_QUESTIONS}",
                "too_many",
            )
        self._sections()
        seen: dict[str, Path_] = {}
        types: dict[str, dict[str, Any]] = {}
        for path, question in questions:
            qid = question.get("id")
            if isinstance(qid, str):
                if qid in seen:
                    self.err((*path, "id"), f"question id {qid!r} is used twice", "duplicate_id")
                seen[qid] = path
            self._question(path, question, types)
            if isinstance(qid, str):
                types[qid] = question
        self._pulse(len(questions))
        return self.errors

    # ---- pieces ----

    def _languages(self) -> None:
        review = self.doc.get("needs_review")
        if _is_list(review):
            for i, lang in enumerate(review):
                if isinstance(lang, str) and lang not in self.languages:
                    self.err(("needs_review", i), f"{lang!r} is not a declared language")
        if len(set(self.languages)) != len(self.languages):
            self.err(("languages",), "a language is listed twice")

    def text(self, path: Path_, limit: int, required: bool = True) -> None:
        value = _get(self.doc, path)
        if value is None:
            return  # missing required texts are reported by the structure check
        if not isinstance(value, dict):
            return
        for lang in self.languages:
            if lang not in value or not str(value.get(lang) or "").strip():
                self.err(path, f"missing language {lang!r}", "language")
        for lang, text in value.items():
            if isinstance(text, str) and len(text.strip()) > limit:
                self.err(
                    (*path, lang), f"{len(text.strip())} characters; the limit is {limit}", "long"
                )

    def _options(self, path: Path_, options: Any, numeric: bool) -> None:
        if not _is_list(options):
            return
        if len(options) > limits.MAX_OPTIONS:
            self.err(path, f"{len(options)} options; the limit is {limits.MAX_OPTIONS}", "too_many")
        values: set[str] = set()
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                continue
            value = option.get("value")
            if str(value) in values:
                self.err((*path, i, "value"), f"option value {value!r} is used twice", "duplicate")
            values.add(str(value))
            if numeric and not (isinstance(value, int) and not isinstance(value, bool)):
                self.err((*path, i, "value"), "scale points must be whole numbers")
            self.text((*path, i, "label"), limits.MAX_BUTTON_LABEL_CHARS)

    def _questions(self) -> Iterator[tuple[Path_, dict[str, Any]]]:
        sections = self.doc.get("sections")
        for i, section in enumerate(sections if _is_list(sections) else []):
            questions = section.get("questions") if isinstance(section, dict) else None
            for j, question in enumerate(questions if _is_list(questions) else []):
                if isinstance(question, dict):
                    yield ("sections", i, "questions", j), question

    def _sections(self) -> None:
        sections = self.doc.get("sections")
        seen: set[str] = set()
        for i, section in enumerate(sections if _is_list(sections) else []):
            if not isinstance(section, dict):
                continue
            sid = section.get("id")
            if isinstance(sid, str):
                if sid in seen:
                    self.err(
                        ("sections", i, "id"), f"section id {sid!r} is used twice", "duplicate_id"
                    )
                seen.add(sid)
            self.text(("sections", i, "title"), limits.MAX_TITLE_CHARS, required=False)
            self._maps_to(("sections", i, "maps_to"), section.get("maps_to"))

    def _maps_to(self, path: Path_, mapping: Any) -> None:
        if not isinstance(mapping, dict):
            return
        for framework, items in mapping.items():
            if framework not in self.frameworks:
                self.err((*path, framework), f"unknown framework {framework!r}", "reference")
                continue
            for k, item in enumerate(items if _is_list(items) else []):
                if self.frameworks.item(str(framework), str(item)) is None:
                    self.err(
                        (*path, framework, k),
                        f"{framework} has no item {item!r}",
                        "reference",
                    )

    def _question(self, path: Path_, q: dict[str, Any], earlier: dict[str, dict[str, Any]]) -> None:
        kind = q.get("type")
        self.text((*path, "text"), limits.MAX_QUESTION_CHARS)
        self.text((*path, "hint"), limits.MAX_HINT_CHARS, required=False)
        self._maps_to((*path, "maps_to"), q.get("maps_to"))
        if kind == "scale":
            scale = q.get("scale")
            if scale is None:
                self.err(path, "a scale question needs 'scale'", "reference")
            elif not isinstance(scale, str) or scale not in self.scales:
                self.err((*path, "scale"), f"unknown scale {scale!r}", "reference")
        elif q.get("scale") is not None:
            self.err((*path, "scale"), f"'scale' does not apply to a {kind} question")
        if kind in ("choice", "multi"):
            options = q.get("options")
            if not _is_list(options) or len(options) < 2:
                self.err(path, f"a {kind} question needs at least two options")
            self._options((*path, "options"), options, numeric=False)
        elif q.get("options") is not None:
            self.err((*path, "options"), f"'options' do not apply to a {kind} question")
        if q.get("max_length") is not None and kind != "text":
            self.err((*path, "max_length"), "'max_length' applies to text questions only")
        if self.doc.get("audience") == "service_user" and q.get("required") is True:
            self.err((*path, "required"), "service users may skip every question", "required")
        show_if = q.get("show_if")
        if isinstance(show_if, dict):
            self._condition((*path, "show_if"), show_if, earlier, subject=None)
        follow_up = q.get("follow_up")
        if isinstance(follow_up, dict):
            if kind in ("text", "multi"):
                self.err((*path, "follow_up"), f"a {kind} question cannot have a follow-up")
            self.text((*path, "follow_up", "text"), limits.MAX_QUESTION_CHARS)
            condition = follow_up.get("show_if")
            if isinstance(condition, dict):
                self._condition((*path, "follow_up", "show_if"), condition, {}, subject=q)
        rule = q.get("safeguard_if")
        if isinstance(rule, dict):
            if kind == "text":
                self.err((*path, "safeguard_if"), "a text question cannot have a safeguarding rule")
            else:
                self._condition((*path, "safeguard_if"), rule, {}, subject=q)

    def _condition(
        self,
        path: Path_,
        cond: dict[str, Any],
        earlier: dict[str, dict[str, Any]],
        subject: dict[str, Any] | None,
    ) -> None:
        for group in ("all", "any"):
            if _is_list(cond.get(group)):
                for i, child in enumerate(cond[group]):
                    if isinstance(child, dict):
                        self._condition((*path, group, i), child, earlier, subject)
        if isinstance(cond.get("not"), dict):
            self._condition((*path, "not"), cond["not"], earlier, subject)
        ops = [k for k in CONDITION_KEYS if k in cond and k not in ("all", "any", "not")]
        if not ops:
            return
        ref = cond.get("question")
        if subject is not None:
            if ref is not None and ref != subject.get("id"):
                where = "a safeguarding rule" if "safeguard_if" in path else "a follow-up condition"
                self.err((*path, "question"), f"{where} reads its own question only")
                return
            target = subject
        elif ref is None:
            self.err(path, "a condition needs 'question': the earlier question it reads")
            return
        elif not isinstance(ref, str) or ref not in earlier:
            self.err(
                (*path, "question"),
                f"{ref!r} is not an earlier question; conditions read earlier answers only",
                "reference",
            )
            return
        else:
            target = earlier[ref]
        kind = target.get("type") if isinstance(target.get("type"), str) else None
        for op in ops:
            if op in ("eq", "ne", "in") and kind == "multi":
                # the answer is a list of picks: eq/in never hold and ne always does
                self.err((*path, op), f"'{op}' on a multiple-choice question; use 'contains'")
                continue
            if op in ORDER_OPS and kind not in NUMERIC_TYPES:
                self.err((*path, op), f"'{op}' compares numbers; {ref or 'this'} is {kind}")
            if op == "contains" and kind != "multi":
                self.err((*path, op), "'contains' applies to multiple-choice questions")
            if op in ("eq", "ne", "in"):
                allowed = self._values(target)
                wanted = cond[op] if op == "in" and _is_list(cond[op]) else [cond[op]]
                for value in wanted:
                    if allowed is not None and str(value) not in allowed:
                        self.err((*path, op), f"{value!r} is not a possible answer", "reference")

    def _values(self, question: dict[str, Any]) -> set[str] | None:
        kind = question.get("type")
        if kind == "yes_no":
            return {"yes", "no", "unsure"}
        if kind == "nps":
            return {str(i) for i in range(11)}
        options = question.get("options")
        if kind == "scale":
            name = question.get("scale")
            scale = self.scales.get(name) if isinstance(name, str) else None
            options = scale.get("options") if isinstance(scale, dict) else None
        if _is_list(options):
            return {str(o.get("value")) for o in options if isinstance(o, dict)}
        return None

    def _pulse(self, count: int) -> None:
        pulse = self.doc.get("pulse")
        if not isinstance(pulse, dict):
            return
        per = pulse.get("questions_per_session")
        if isinstance(per, int) and per > count > 0:
            self.err(("pulse", "questions_per_session"), f"only {count} questions in the script")
        if pulse.get("rotation") == "cover-all" and per is None:
            self.err(("pulse",), "rotation cover-all needs questions_per_session")
        if pulse.get("rotation") == "cover-all":
            # A rotating session may not contain the question a condition reads, which
            # would silently hide the dependent one and break "every item once per cycle".
            for path, question in self._questions():
                if isinstance(question.get("show_if"), dict):
                    self.err(
                        (*path, "show_if"),
                        "in a rotating pulse a question cannot depend on another one:"
                        " it may not be asked in the same session",
                    )


def _is_list(value: object) -> TypeGuard[list[Any]]:
    return isinstance(value, list)


def _get(doc: Any, path: Path_) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return None
        elif not isinstance(doc, dict):
            return None
        doc = doc[part] if isinstance(part, int) else doc.get(part)
    return doc
