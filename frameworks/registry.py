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
from typing import Any

import yaml

LANGUAGES: tuple[str, ...] = ("en", "sl", "de", "cs", "lt")
DEFAULT_LANGUAGE = "en"
DATA_DIR = Path(__file__).parent / "data"

# Ids travel in callback data and script references, so they stay short and plain.
# Framework ids start with a letter; item ids may be numbers, as the Czech standards are.
_FRAMEWORK_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

# Allowed keys, each marked required (True) or optional (False).
_FRAMEWORK_KEYS: dict[str, bool] = {
    "id": True,
    "name": True,
    "source": True,
    "needs_review": False,
    "crosswalks": False,
    "items": True,
}
_ITEM_KEYS: dict[str, bool] = {
    "id": True,
    "number": True,
    "name": True,
    "description": False,
    "source": False,
    "maps_to": False,
}
_CROSSWALK_KEYS: dict[str, bool] = {"official": True, "source": True}

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


# --- loading and validation -------------------------------------------------------------

_Report = Callable[[str, str], None]


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclass
class _ItemDraft:
    """An item as far as it validated on its own; links are checked once all files are read."""

    path: str
    id: str | None = None
    number: int | None = None
    names: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    # target framework -> [(path, item id)], and target framework -> path of its key
    maps_to: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    maps_to_paths: dict[str, str] = field(default_factory=dict)


@dataclass
class _FrameworkDraft:
    file: str
    report: _Report
    id: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    source: str = ""
    needs_review: tuple[str, ...] = ()
    crosswalks: dict[str, tuple[str, Crosswalk]] = field(default_factory=dict)  # path, value
    items: list[_ItemDraft] = field(default_factory=list)


def _check_keys(
    node: Mapping[Any, Any], keys: Mapping[str, bool], path: str, report: _Report
) -> None:
    for key, required in keys.items():
        if required and key not in node:
            report(path, f"missing key '{key}'")
    for key in node:
        if key not in keys:
            report(_join(path, key), f"unknown key (allowed: {', '.join(keys)})")


def _check_mapping(value: object, path: str, report: _Report, what: str) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    report(path, f"must be a mapping of {what}, got {type(value).__name__}")
    return None


def _check_texts(value: object, path: str, report: _Report) -> dict[str, str]:
    """A text in every language: all five present, non-empty, and no others."""
    node = _check_mapping(value, path, report, "language to text")
    if node is None:
        return {}
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        if lang not in node:
            report(path, f"missing language '{lang}'")
        elif not isinstance(node[lang], str) or not node[lang].strip():
            report(_join(path, lang), "must be non-empty text")
        else:
            texts[lang] = node[lang].strip()
    for lang in node:
        if lang not in LANGUAGES:
            report(_join(path, lang), f"unknown language (expected {', '.join(LANGUAGES)})")
    return texts


def _check_text(value: object, path: str, report: _Report) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    report(path, "must be non-empty text")
    return None


def _check_id(value: object, pattern: re.Pattern[str], path: str, report: _Report) -> str | None:
    if isinstance(value, str) and pattern.match(value):
        return value
    hint = ' (quote numbers, e.g. "5")' if isinstance(value, int) else ""
    report(path, f"must be a short id of a-z, 0-9 and '-', got {value!r}{hint}")
    return None


def _check_languages(value: object, path: str, report: _Report) -> tuple[str, ...]:
    if not isinstance(value, list):
        report(path, f"must be a list of languages, got {type(value).__name__}")
        return ()
    langs: list[str] = []
    for i, lang in enumerate(value):
        if lang not in LANGUAGES:
            report(f"{path}[{i}]", f"unknown language {lang!r} (expected {', '.join(LANGUAGES)})")
        elif lang in langs:
            report(f"{path}[{i}]", f"language '{lang}' listed twice")
        else:
            langs.append(lang)
    return tuple(langs)


def _check_crosswalks(value: object, report: _Report) -> dict[str, tuple[str, Crosswalk]]:
    node = _check_mapping(value, "crosswalks", report, "framework id to its provenance")
    result: dict[str, tuple[str, Crosswalk]] = {}
    for target, entry in (node or {}).items():
        path = _join("crosswalks", target)
        target_id = _check_id(target, _FRAMEWORK_ID, path, report)
        entry_node = _check_mapping(entry, path, report, "'official' and 'source'")
        if target_id is None or entry_node is None:
            continue
        _check_keys(entry_node, _CROSSWALK_KEYS, path, report)
        official = entry_node.get("official")
        if "official" in entry_node and not isinstance(official, bool):
            report(_join(path, "official"), "must be true or false")
        source = _check_text(entry_node.get("source"), _join(path, "source"), report)
        if isinstance(official, bool) and source is not None:
            result[target_id] = (path, Crosswalk(target_id, official, source))
    return result


def _check_maps_to(
    value: object, path: str, report: _Report
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Shape of `maps_to` only; whether the targets exist needs every file.

    Returns the links per target framework, each with its path, and the path of each target.
    """
    links_by_target: dict[str, list[tuple[str, str]]] = {}
    paths: dict[str, str] = {}
    node = _check_mapping(value, path, report, "framework id to a list of item ids")
    for target, ids in (node or {}).items():
        target_path = _join(path, target)
        target_id = _check_id(target, _FRAMEWORK_ID, target_path, report)
        if not isinstance(ids, list) or not ids:
            report(target_path, "must be a non-empty list of item ids")
            continue
        if target_id is None:
            continue
        links: list[tuple[str, str]] = []
        for i, item_id in enumerate(ids):
            link_path = f"{target_path}[{i}]"
            checked = _check_id(item_id, _ITEM_ID, link_path, report)
            if checked is not None and checked in [seen for _, seen in links]:
                report(link_path, f"item '{checked}' listed twice")
            elif checked is not None:
                links.append((link_path, checked))
        links_by_target[target_id] = links
        paths[target_id] = target_path
    return links_by_target, paths


def _check_item(value: object, path: str, report: _Report) -> _ItemDraft | None:
    node = _check_mapping(value, path, report, "item fields")
    if node is None:
        return None
    _check_keys(node, _ITEM_KEYS, path, report)
    draft = _ItemDraft(path)
    if "id" in node:
        draft.id = _check_id(node["id"], _ITEM_ID, _join(path, "id"), report)
    number = node.get("number")
    if "number" in node:
        if isinstance(number, int) and not isinstance(number, bool) and number >= 1:
            draft.number = number
        else:
            report(_join(path, "number"), f"must be a whole number from 1, got {number!r}")
    if "name" in node:
        draft.names = _check_texts(node["name"], _join(path, "name"), report)
    if "description" in node:
        draft.description = _check_texts(node["description"], _join(path, "description"), report)
    if "source" in node:
        draft.source = _check_text(node["source"], _join(path, "source"), report)
    if "maps_to" in node:
        draft.maps_to, draft.maps_to_paths = _check_maps_to(
            node["maps_to"], _join(path, "maps_to"), report
        )
    return draft


def _check_items(value: object, report: _Report) -> list[_ItemDraft]:
    if not isinstance(value, list) or not value:
        report("items", "must be a non-empty list of items")
        return []
    drafts = [
        d for i, v in enumerate(value) if (d := _check_item(v, f"items[{i}]", report)) is not None
    ]
    first_with_id: dict[str, str] = {}
    first_with_number: dict[int, str] = {}
    for d in drafts:
        if d.id is not None:
            if d.id in first_with_id:
                report(_join(d.path, "id"), f"duplicate id '{d.id}' (also {first_with_id[d.id]})")
            else:
                first_with_id[d.id] = d.path
        if d.number is not None:
            if d.number in first_with_number:
                other = first_with_number[d.number]
                report(_join(d.path, "number"), f"duplicate number {d.number} (also {other})")
            else:
                first_with_number[d.number] = d.path
    count = len(value)
    missing = [n for n in range(1, count + 1) if n not in first_with_number]
    for number, path in first_with_number.items():
        if number > count:
            gap = ", ".join(map(str, missing))
            report(
                _join(path, "number"),
                f"{number} breaks the sequence 1..{count}; numbers run from 1 without gaps"
                + (f" (missing: {gap})" if gap else ""),
            )
    return drafts


def _check_framework(raw: object, draft: _FrameworkDraft) -> None:
    report = draft.report
    if raw is None:
        report("", "is empty")
        return
    node = _check_mapping(raw, "", report, "framework fields")
    if node is None:
        return
    _check_keys(node, _FRAMEWORK_KEYS, "", report)
    if "id" in node:
        draft.id = _check_id(node["id"], _FRAMEWORK_ID, "id", report)
    if "name" in node:
        draft.names = _check_texts(node["name"], "name", report)
    if "source" in node:
        draft.source = _check_text(node["source"], "source", report) or ""
    if "needs_review" in node:
        draft.needs_review = _check_languages(node["needs_review"], "needs_review", report)
    if "crosswalks" in node:
        draft.crosswalks = _check_crosswalks(node["crosswalks"], report)
    if "items" in node:
        draft.items = _check_items(node["items"], report)


def _check_links(drafts: list[_FrameworkDraft]) -> None:
    """Cross-file rules: unique framework ids, and every `maps_to` link resolves and has a
    declared provenance in `crosswalks`."""
    files_by_id: dict[str, str] = {}
    for d in drafts:
        if d.id is None:
            continue
        if d.id in files_by_id:
            d.report("id", f"duplicate framework id '{d.id}' (also in {files_by_id[d.id]})")
        else:
            files_by_id[d.id] = d.file
    item_ids = {
        d.id: {i.id for i in d.items if i.id is not None} for d in drafts if d.id is not None
    }
    for d in drafts:
        used: set[str] = set()
        for item in d.items:
            for target, links in item.maps_to.items():
                target_path = item.maps_to_paths[target]
                if target == d.id:
                    d.report(target_path, "an item cannot map to its own framework")
                elif target not in item_ids:
                    d.report(target_path, f"unknown framework '{target}'")
                else:
                    used.add(target)
                    for link_path, item_id in links:
                        if item_id not in item_ids[target]:
                            d.report(link_path, f"framework '{target}' has no item '{item_id}'")
        for target, (path, _) in d.crosswalks.items():
            if target not in item_ids:
                d.report(path, f"unknown framework '{target}'")
            elif target not in used:
                d.report(path, f"no item maps to '{target}'")
        for target in sorted(used - d.crosswalks.keys()):
            d.report("crosswalks", f"missing entry for '{target}', which items map to")


def _build(draft: _FrameworkDraft) -> Framework:
    """Turn a draft that passed every check into read-only dataclasses."""
    assert draft.id is not None
    items = []
    for d in sorted(draft.items, key=lambda d: d.number or 0):
        assert d.id is not None and d.number is not None
        maps_to = {t: tuple(i for _, i in links) for t, links in d.maps_to.items()}
        items.append(
            Item(
                framework=draft.id,
                id=d.id,
                number=d.number,
                names=MappingProxyType(d.names),
                description=MappingProxyType(d.description),
                source=d.source or draft.source,
                maps_to=MappingProxyType(maps_to),
            )
        )
    return Framework(
        id=draft.id,
        names=MappingProxyType(draft.names),
        source=draft.source,
        needs_review=draft.needs_review,
        items=MappingProxyType({i.id: i for i in items}),
        crosswalks=MappingProxyType({t: c for t, (_, c) in draft.crosswalks.items()}),
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
    drafts: list[_FrameworkDraft] = []
    for file in files:

        def report(path: str, message: str, name: str = file.name) -> None:
            problems.append(f"{name}: {path}: {message}" if path else f"{name}: {message}")

        draft = _FrameworkDraft(file.name, report)
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            report("", f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            report("", f"cannot be read ({exc})")
            continue
        _check_framework(raw, draft)
        drafts.append(draft)
    _check_links(drafts)
    if problems:
        raise FrameworkError(problems)
    return Frameworks(_build(d) for d in drafts)


@functools.cache
def default_frameworks() -> Frameworks:
    """The frameworks shipped with the package, loaded and validated once per process."""
    return load_frameworks()
