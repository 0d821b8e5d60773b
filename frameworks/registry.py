"""Quality frameworks as read-only data, loaded from YAML and validated as a whole.

The data files are the single place where principle and standard names live, so a
broken file must fail at start-up with every problem listed at once, each with its
file and path, rather than surface later as a missing name in a digest.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

LANGUAGES: tuple[str, ...] = ("en", "sl", "de", "cs", "lt")
DEFAULT_LANGUAGE = "en"
DATA_DIR = Path(__file__).parent / "data"
OWN_PREFIX = "own-"  # organisations' own frameworks only, so no shipped id can clash

# Ids travel in callback data and script references, so they stay short and plain.
# Framework ids start with a letter; item ids may be numbers, as the Czech standards are.
_FRAMEWORK_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _pick(texts: Mapping[str, str], lang: str) -> str:
    """Text in `lang`, accepting Telegram-style codes such as "sl-SI"; English otherwise."""
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    return texts.get(base) or texts.get(DEFAULT_LANGUAGE, "")


@dataclass(frozen=True)
class Crosswalk:
    """Provenance of one framework's `maps_to` links to another.

    Kept with the data so the product can say when a mapping is carecheck's own
    reading rather than an official table.
    """

    target: str
    official: bool
    source: str


@dataclass(frozen=True)
class Item:
    """One principle, standard or perspective of a framework."""

    framework: str
    id: str
    number: int
    names: Mapping[str, str]
    description: Mapping[str, str]
    source: str
    maps_to: Mapping[str, tuple[str, ...]]

    def __hash__(self) -> int:
        return hash((self.framework, self.id))

    def name(self, lang: str) -> str:
        return _pick(self.names, lang)

    def describe(self, lang: str) -> str:
        """The short description in `lang`, or "" when the item has none."""
        return _pick(self.description, lang)


@dataclass(frozen=True)
class Framework:
    """A quality framework with its items ordered by number.

    `needs_review` lists the languages whose names are carecheck's own translations,
    so the product can mark them for a native speaker instead of passing them off as
    official.
    """

    id: str
    names: Mapping[str, str]
    source: str
    needs_review: tuple[str, ...]
    items: Mapping[str, Item]
    crosswalks: Mapping[str, Crosswalk] = field(default_factory=lambda: _EMPTY)

    def __hash__(self) -> int:
        return hash(self.id)

    def name(self, lang: str) -> str:
        return _pick(self.names, lang)


class FrameworkError(ValueError):
    """The framework data is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in the framework data:"
        super().__init__("\n  ".join([heading, *self.problems]))


class Frameworks:
    """All loaded frameworks, looked up by id, with the links between their items."""

    def __init__(self, frameworks: Iterable[Framework]) -> None:
        self._by_id: dict[str, Framework] = {f.id: f for f in frameworks}

    def get(self, framework_id: str) -> Framework:
        try:
            return self._by_id[framework_id]
        except KeyError:
            known = ", ".join(self._by_id) or "none"
            raise KeyError(f"unknown framework {framework_id!r} (known: {known})") from None

    def item(self, framework_id: str, item_id: str) -> Item | None:
        """The item, or None when the framework or the item does not exist."""
        framework = self._by_id.get(framework_id)
        return None if framework is None else framework.items.get(item_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def __contains__(self, framework_id: object) -> bool:
        return framework_id in self._by_id

    def __iter__(self) -> Iterator[Framework]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def translate(self, item_ref_from: str, item_id: str, to: str) -> tuple[str, ...]:
        """Ids of the items in framework `to` linked by `maps_to` to an item of `item_ref_from`.

        Links are followed both ways, so equass `staff` gives equass-revised `workforce`
        and equass-revised `workforce` gives equass `staff`. The result is ordered by
        item number and empty when nothing is linked.
        """
        source = self.get(item_ref_from)
        target = self.get(to)
        item = source.items.get(item_id)
        if item is None:
            raise KeyError(f"framework {source.id!r} has no item {item_id!r}")
        if source.id == target.id:
            return (item.id,)
        linked = set(item.maps_to.get(target.id, ()))
        linked |= {i.id for i in target.items.values() if item.id in i.maps_to.get(source.id, ())}
        return tuple(i.id for i in target.items.values() if i.id in linked)


# --- the file format ---------------------------------------------------------------------
# Each value type refuses bad input in the words of the person editing the YAML.


def _refuse(message: str) -> PydanticCustomError:
    """An error pydantic reports with exactly this message, at the value's path."""
    return PydanticCustomError("framework_data", message)


def _text(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _refuse("must be non-empty text")


def _language(value: object) -> str:
    if isinstance(value, str) and value in LANGUAGES:
        return value
    raise _refuse(f"unknown language {value!r} (expected {', '.join(LANGUAGES)})")


def _id_of(pattern: re.Pattern[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and pattern.match(value):
            return value
        hint = ' (quote numbers, e.g. "5")' if isinstance(value, int) else ""
        raise _refuse(f"must be a short id of a-z, 0-9 and '-', got {value!r}{hint}")

    return check


_framework_id = _id_of(_FRAMEWORK_ID)
_item_id = _id_of(_ITEM_ID)


def _number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise _refuse(f"must be a whole number from 1, got {value!r}")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _refuse("must be true or false")


def _complete(texts: dict[str, str]) -> dict[str, str]:
    """A text in every language, in the order of LANGUAGES."""
    missing = [lang for lang in LANGUAGES if lang not in texts]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise _refuse(f"missing language{plural} {', '.join(map(repr, missing))}")
    return {lang: texts[lang] for lang in LANGUAGES}


def _distinct(values: list[str]) -> list[str]:
    twice = [v for i, v in enumerate(values) if v in values[:i]]
    if twice:
        raise _refuse(f"{', '.join(map(repr, dict.fromkeys(twice)))} listed twice")
    return values


_Text = Annotated[str, PlainValidator(_text)]
_Language = Annotated[str, PlainValidator(_language)]
_Texts = Annotated[dict[_Language, _Text], AfterValidator(_complete)]
_FrameworkId = Annotated[str, PlainValidator(_framework_id)]
_ItemId = Annotated[str, PlainValidator(_item_id)]


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt optional key would otherwise vanish unnoticed."""

    model_config = ConfigDict(extra="forbid")


class _CrosswalkFile(_Strict):
    official: Annotated[bool, PlainValidator(_flag)]
    source: _Text


class _ItemFile(_Strict):
    id: _ItemId
    number: Annotated[int, PlainValidator(_number)]
    name: _Texts
    description: _Texts = Field(default_factory=dict)
    source: _Text = ""  # the framework's when absent
    maps_to: dict[
        _FrameworkId, Annotated[list[_ItemId], Field(min_length=1), AfterValidator(_distinct)]
    ] = Field(default_factory=dict)


class _FrameworkFile(_Strict):
    """One data file as written; its links to other files are checked by `_links`."""

    id: _FrameworkId
    name: _Texts
    source: _Text
    needs_review: Annotated[list[_Language], AfterValidator(_distinct)] = Field(
        default_factory=list
    )
    crosswalks: dict[_FrameworkId, _CrosswalkFile] = Field(default_factory=dict)
    items: list[_ItemFile] = Field(min_length=1)


_CONTAINERS = {"dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list"}


def _explain(error: ErrorDetails, raw: object) -> tuple[str, str]:
    """Pydantic's error as the path of the offending value and what is wrong with it."""
    loc, message = explain_at(error, _FrameworkFile)
    return _path(raw, loc), message


def explain_at(error: ErrorDetails, root: type[BaseModel]) -> tuple[tuple[int | str, ...], str]:
    """Pydantic's error on a document of model `root`: where it is, and what is wrong there."""
    loc = error["loc"][:-1] if error["loc"][-1:] == ("[key]",) else error["loc"]
    kind = error["type"]
    if kind == "missing":
        return loc[:-1], f"missing key {loc[-1]!r}"
    if kind in ("extra_forbidden", "invalid_key"):
        allowed = ", ".join(_model_at(loc[:-1], root).model_fields)
        return loc, f"unknown key (allowed: {allowed})"
    if kind in _CONTAINERS:
        return loc, f"must be {_CONTAINERS[kind]}, got {type(error['input']).__name__}"
    return loc, "must not be empty" if kind == "too_short" else error["msg"]


def _path(raw: object, loc: tuple[int | str, ...]) -> str:
    """`items[3].name`: a position in a list in brackets, a key of a mapping after a dot."""
    out = ""
    for part in loc:
        listed = isinstance(raw, list) or (not isinstance(raw, dict) and isinstance(part, int))
        out += f"[{part}]" if listed else f".{part}"
        raw = _child(raw, part)
    return out.removeprefix(".")


def _child(node: object, part: int | str) -> object:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _model_at(loc: tuple[int | str, ...], root: type[BaseModel]) -> type[BaseModel]:
    """The model of the mapping at `loc`: along field types, and list and mapping values."""
    node: Any = root
    for part in loc:
        is_model = isinstance(node, type) and issubclass(node, BaseModel)
        node = node.model_fields[part].annotation if is_model else get_args(node)[-1]
    assert isinstance(node, type) and issubclass(node, BaseModel)
    return node


# --- rules across items and files --------------------------------------------------------
# They read the raw data, so that a file with a broken item still has its numbering and
# links checked in the same pass; a value the format refuses is left to that error.


def _valid(check: Callable[[object], Any], value: object) -> Any:
    """`value` as the format reads it, or None when the format refuses it."""
    try:
        return check(value)
    except PydanticCustomError:
        return None


def _mapping(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _items(raw: object) -> tuple[int, list[tuple[str, dict[Any, Any]]]]:
    """How many entries `items` has, and those that are mappings, each with its path."""
    items = _mapping(raw).get("items")
    listed = items if isinstance(items, list) else []
    found = [(f"items[{i}]", item) for i, item in enumerate(listed) if isinstance(item, dict)]
    return len(listed), found


def _numbering(raw: object) -> Iterator[tuple[str, str]]:
    """Item ids and numbers are unique, and the numbers run from 1 without gaps."""
    count, items = _items(raw)
    first: dict[str, dict[Any, str]] = {"id": {}, "number": {}}
    for path, item in items:
        for key, check in (("id", _item_id), ("number", _number)):
            value = _valid(check, item.get(key))
            if value in first[key]:
                yield f"{path}.{key}", f"duplicate {key} {value!r} (also {first[key][value]})"
            elif value is not None:
                first[key][value] = path
    gap = ", ".join(str(n) for n in range(1, count + 1) if n not in first["number"])
    for number, path in first["number"].items():
        if number > count:
            yield (
                f"{path}.number",
                f"{number} breaks the sequence 1..{count}; numbers run from 1 without gaps"
                + (f" (missing: {gap})" if gap else ""),
            )


def _links(files: dict[str, object]) -> Iterator[tuple[str, str, str]]:
    """Framework ids are unique, and every `maps_to` link resolves and has its provenance
    declared in `crosswalks`."""
    ids = {file: _valid(_framework_id, _mapping(raw).get("id")) for file, raw in files.items()}
    first: dict[str, str] = {}
    for file, framework in ids.items():
        if framework in first:
            yield file, "id", f"duplicate framework id '{framework}' (also in {first[framework]})"
        elif framework is not None:
            first[framework] = file
    item_ids = {
        framework: {_valid(_item_id, item.get("id")) for _, item in _items(files[file])[1]}
        for file, framework in ids.items()
        if framework is not None
    }
    for file, raw in files.items():
        used: set[str] = set()
        for path, item in _items(raw)[1]:
            for target, links in _mapping(item.get("maps_to")).items():
                here = f"{path}.maps_to.{target}"
                if _valid(_framework_id, target) is None or not isinstance(links, list):
                    continue
                if target == ids[file]:
                    yield file, here, "an item cannot map to its own framework"
                    continue
                if target not in item_ids:
                    yield file, here, f"unknown framework '{target}'"
                    continue
                used.add(target)
                for i, link in enumerate(links):
                    if _valid(_item_id, link) not in {None, *item_ids[target]}:
                        yield file, f"{here}[{i}]", f"framework '{target}' has no item '{link}'"
        crosswalks = _mapping(_mapping(raw).get("crosswalks"))
        for target in crosswalks:
            if _valid(_framework_id, target) is None:
                continue
            if target not in item_ids:
                yield file, f"crosswalks.{target}", f"unknown framework '{target}'"
            elif target not in used:
                yield file, f"crosswalks.{target}", f"no item maps to '{target}'"
        for target in sorted(used - crosswalks.keys()):
            yield file, "crosswalks", f"missing entry for '{target}', which items map to"


# --- loading -----------------------------------------------------------------------------


def _problem(file: str, path: str, message: str) -> str:
    return f"{file}: {path}: {message}" if path else f"{file}: {message}"


def _read(file: Path) -> tuple[object, str | None]:
    """The file's YAML, or why it cannot be read."""
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return None, f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc})"
    return raw, None if raw is not None else "is empty"


def _framework(data: _FrameworkFile) -> Framework:
    """The read-only form of a file that passed every check."""
    items = [
        Item(
            framework=data.id,
            id=item.id,
            number=item.number,
            names=MappingProxyType(item.name),
            description=MappingProxyType(item.description),
            source=item.source or data.source,
            maps_to=MappingProxyType({t: tuple(ids) for t, ids in item.maps_to.items()}),
        )
        for item in sorted(data.items, key=lambda item: item.number)
    ]
    return Framework(
        id=data.id,
        names=MappingProxyType(data.name),
        source=data.source,
        needs_review=tuple(data.needs_review),
        items=MappingProxyType({i.id: i for i in items}),
        crosswalks=MappingProxyType(
            {t: Crosswalk(t, c.official, c.source) for t, c in data.crosswalks.items()}
        ),
    )


def load_frameworks(directory: Path | None = None) -> Frameworks:
    """Read and validate every `*.yaml` in `directory` (default: the package data).

    Raises FrameworkError listing every problem, each as "file: path: message".
    """
    directory = DATA_DIR if directory is None else Path(directory)
    if not directory.is_dir():
        raise FrameworkError([f"{directory}: not a directory"])
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FrameworkError([f"{directory}: no *.yaml framework files"])
    problems: list[str] = []
    raws: dict[str, object] = {}
    valid: list[_FrameworkFile] = []
    for file in files:
        raw, unreadable = _read(file)
        if unreadable is not None:
            problems.append(_problem(file.name, "", unreadable))
            continue
        raws[file.name] = raw
        try:
            valid.append(_FrameworkFile.model_validate(raw))
        except ValidationError as exc:
            problems += [_problem(file.name, *_explain(e, raw)) for e in exc.errors()]
        problems += [_problem(file.name, path, message) for path, message in _numbering(raw)]
        if str(_mapping(raw).get("id", "")).startswith(OWN_PREFIX):
            problems.append(_problem(file.name, "id", f"'{OWN_PREFIX}' begins own frameworks' ids"))
    problems += [_problem(*link) for link in _links(raws)]
    if problems:
        raise FrameworkError(problems)
    return Frameworks(_framework(data) for data in valid)


@functools.cache
def default_frameworks() -> Frameworks:
    """The frameworks shipped with the package, loaded and validated once per process."""
    return load_frameworks()
