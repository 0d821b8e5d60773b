"""An organisation's own framework: its quality areas and its definition of a successful service.

KQS asks each organisation to develop and justify its own values instead of taking
external norms; this is where they become a framework carecheck can report under.
An organisation admin writes one (YAML under a top-level `framework` key, or a
workbook read into the same document) and this module checks the document handed to
it: every problem at once, each at its path, which the caller turns into a file line
or a workbook cell. Pure: it reads nothing and stores nothing.

Its id starts with `own-`, which no shipped framework uses, so it never clashes with
one; it is the organisation's own, and the same id in two organisations names two
different frameworks (storage keeps them per organisation).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, PlainValidator, ValidationError

from frameworks.registry import (
    LANGUAGES,
    OWN_PREFIX,
    Framework,
    Item,
    _distinct,
    _id_of,
    _language,
    _refuse,
    _Strict,
    explain_at,
)

KEY = "framework"  # the top-level key that tells a framework document from a script
MAX_ITEMS = 40
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 400
# Ids travel in callback data (a planned action names organisation, unit, framework
# and item in 64 bytes), so they are shorter than the shipped frameworks' limit.
_OWN_ID = re.compile(rf"^{OWN_PREFIX}[a-z0-9][a-z0-9-]{{0,15}}$")
_OWN_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
# A name is one line of plain text: no control characters, no markup.
_NOT_PLAIN = re.compile(r"[\x00-\x1f\x7f<>]")

Path = tuple[str | int, ...]


def _own_id(value: object) -> str:
    if isinstance(value, str) and _OWN_ID.match(value):
        return value
    raise _refuse(
        f"must start with '{OWN_PREFIX}' and then up to 16 of a-z, 0-9 and '-' "
        f"(e.g. own-quality-areas), got {value!r}"
    )


def _plain_text(limit: int) -> Any:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _refuse("must be non-empty text")
        text = value.strip()
        if _NOT_PLAIN.search(text):
            raise _refuse("must be one line of plain text, without '<', '>' or control characters")
        if len(text) > limit:
            raise _refuse(f"has {len(text)} characters; the limit is {limit}")
        return text

    return PlainValidator(check)


_Language = Annotated[str, PlainValidator(_language)]
_Name = dict[_Language, Annotated[str, _plain_text(MAX_NAME_CHARS)]]
_Description = dict[_Language, Annotated[str, _plain_text(MAX_DESCRIPTION_CHARS)]]


class _OwnItem(_Strict):
    id: Annotated[str, PlainValidator(_id_of(_OWN_ITEM_ID))]
    name: _Name
    description: _Description = Field(default_factory=dict)


class _OwnFramework(_Strict):
    id: Annotated[str, PlainValidator(_own_id)]
    languages: Annotated[list[_Language], Field(min_length=1), AfterValidator(_distinct)]
    name: _Name
    needs_review: Annotated[list[_Language], AfterValidator(_distinct)] = Field(
        default_factory=list
    )
    items: Annotated[list[_OwnItem], Field(min_length=1, max_length=MAX_ITEMS)]


class _OwnDocument(_Strict):
    framework: _OwnFramework


@dataclass(frozen=True)
class OwnFrameworkCheck:
    """The framework when the document is valid, else every problem with its path."""

    framework: Framework | None
    problems: list[tuple[Path, str]] = field(default_factory=list)
    languages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.framework is not None and not self.problems


def is_framework_document(document: object) -> bool:
    """Whether a parsed upload is meant as a framework rather than a script."""
    return isinstance(document, dict) and KEY in document


def check_own_framework(document: object) -> OwnFrameworkCheck:
    """Check a parsed framework document (`{framework: {...}}`) completely.

    Structure is pydantic's; what needs the whole document (unique item ids, texts in
    exactly the declared languages) is read from the raw data in the same pass.
    """
    problems: list[tuple[Path, str]] = []
    data: _OwnDocument | None = None
    try:
        data = _OwnDocument.model_validate(document)
    except ValidationError as exc:
        problems += [explain_at(error, _OwnDocument) for error in exc.errors()]
    problems += list(_rules(document))
    problems = list(dict.fromkeys(problems))
    if problems or data is None:
        return OwnFrameworkCheck(None, problems)
    own = data.framework
    return OwnFrameworkCheck(_framework(own), [], tuple(own.languages))


def _rules(document: object) -> Iterator[tuple[Path, str]]:
    raw = document.get(KEY) if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        return
    declared = raw.get("languages")
    languages = [x for x in declared if x in LANGUAGES] if isinstance(declared, list) else []
    texts: list[tuple[Path, object, bool]] = [((KEY, "name"), raw.get("name"), True)]
    seen: dict[str, int] = {}
    items = raw.get("items")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        texts.append(((KEY, "items", i, "name"), item.get("name"), True))
        texts.append(((KEY, "items", i, "description"), item.get("description"), False))
        item_id = item.get("id")
        if isinstance(item_id, str) and item_id in seen:
            yield (KEY, "items", i, "id"), f"duplicate id {item_id!r} (also items[{seen[item_id]}])"
        elif isinstance(item_id, str):
            seen[item_id] = i
    for lang in raw.get("needs_review") or []:
        if languages and lang in LANGUAGES and lang not in languages:
            yield (KEY, "needs_review"), f"{lang!r} is not one of the languages"
    for path, value, required in texts:
        if not languages or not isinstance(value, dict) or (not value and not required):
            continue
        missing = [lang for lang in languages if lang not in value]
        if missing:
            yield path, f"missing language{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        for lang in value:
            if lang in LANGUAGES and lang not in languages:
                yield (
                    (*path, lang),
                    f"{lang!r} is not one of the languages ({', '.join(languages)})",
                )


def _everywhere(texts: dict[str, str], languages: list[str]) -> MappingProxyType[str, str]:
    """A text in all five languages: those the organisation did not write read its first."""
    return MappingProxyType({lang: texts.get(lang) or texts[languages[0]] for lang in LANGUAGES})


def _framework(own: _OwnFramework) -> Framework:
    languages = own.languages
    items = [
        Item(
            framework=own.id,
            id=item.id,
            number=number,
            names=_everywhere(item.name, languages),
            description=_everywhere(item.description, languages) if item.description else _NONE,
            source="",
            maps_to=_NONE_LINKS,
        )
        for number, item in enumerate(own.items, start=1)
    ]
    # Languages the organisation did not write are shown in its first; never reviewed.
    unreviewed = set(own.needs_review) | {lang for lang in LANGUAGES if lang not in languages}
    return Framework(
        id=own.id,
        names=_everywhere(own.name, languages),
        source="",
        needs_review=tuple(lang for lang in LANGUAGES if lang in unreviewed),
        items=MappingProxyType({i.id: i for i in items}),
    )


_NONE: MappingProxyType[str, str] = MappingProxyType({})
_NONE_LINKS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({})


def own_framework_yaml(framework: Framework, languages: tuple[str, ...]) -> str:
    """The framework as the YAML document an admin would write (how a workbook is stored)."""

    def texts(values: object) -> dict[str, str]:
        assert isinstance(values, MappingProxyType)
        return {lang: values[lang] for lang in languages if values.get(lang)}

    body: dict[str, Any] = {
        "id": framework.id,
        "languages": list(languages),
        "name": texts(framework.names),
    }
    reviewed = [lang for lang in framework.needs_review if lang in languages]
    if reviewed:
        body["needs_review"] = reviewed
    body["items"] = [
        {"id": item.id, "name": texts(item.names)}
        | ({"description": texts(item.description)} if item.description else {})
        for item in framework.items.values()
    ]
    dumped: str = yaml.safe_dump(
        {KEY: body}, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    return dumped
