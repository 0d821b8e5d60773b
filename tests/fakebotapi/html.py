"""Telegram's HTML parse mode, as strict as the Bot API documentation asks.

It follows the shape of Telegram's own parser (tdlib's ``parse_html``): the same tags,
the same error messages with UTF-8 byte offsets, entity offsets in UTF-16 code units.
One deliberate difference: Telegram takes a bare ``&`` that starts no entity literally,
while the documentation says it must be escaped. Translated text with an unescaped
``&`` is a bug waiting for the day it reads ``&lt``, so this parser refuses it
(``strict=False`` restores Telegram's leniency).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "ParsedText", "parse_html", "strip_text", "utf16_len"]

_TAG_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
}
_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,4}));")
_SPACE = " \t\r\n\f\v"


class EntityParseError(ValueError):
    """Raised with the text that follows "Bad Request: can't parse entities: "."""


@dataclass
class ParsedText:
    """Message text after entity parsing, the form Telegram stores and counts."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    attribute: str
    offset: int  # in UTF-16 code units
    order: int  # outer tags open first and are listed first among equal spans


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``index``: (character, length), or None if there is none."""
    match = _ENTITY.match(source, index)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        if char is None:
            return None
        return char, match.end() - index
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end() - index


def _unescape_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_entity(value, i)) is not None:
            out.append(decoded[0])
            i += decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _parse_start_tag(source: str, i: int, begin: int) -> tuple[str, dict[str, str], int]:
    """Parse ``<name attr="v" ...>`` from after ``<``; return name, attributes, next index."""
    n = len(source)
    byte_begin = _byte_offset(source, begin)
    start = i
    while i < n and source[i] not in _SPACE and source[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {byte_begin}")
    tag = source[start:i].lower()
    if tag not in _TAG_TYPES:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {byte_begin}')
    attributes: dict[str, str] = {}
    while True:
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_begin}")
        if source[i] == ">":
            return tag, attributes, i + 1
        name_start = i
        while i < n and source[i] not in _SPACE and source[i] not in "=>":
            i += 1
        name = source[name_start:i].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_begin}'
            )
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_begin}")
        if source[i] != "=":
            if tag == "blockquote" and name == "expandable":
                attributes[name] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {byte_begin}"
            )
        i += 1
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_begin}")
        if source[i] in "\"'":
            quote = source[i]
            end = source.find(quote, i + 1)
            if end < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_begin}")
            raw = source[i + 1 : end]
            i = end + 1
        else:
            value_start = i
            while i < n and source[i] not in _SPACE and source[i] != ">":
                i += 1
            raw = source[value_start:i]
        attributes[name] = _unescape_attribute(raw)


def _entity_for(opened: _Open, length: int, inner_code_language: str | None) -> dict[str, Any]:
    """The Bot API MessageEntity for a closed tag."""
    kind = _TAG_TYPES[opened.tag]
    entity: dict[str, Any] = {"type": kind, "offset": opened.offset, "length": length}
    if kind == "text_link":
        entity["url"] = opened.attribute
    elif kind == "pre" and inner_code_language:
        entity["language"] = inner_code_language
    elif kind == "blockquote" and opened.attribute == "expandable":
        entity["type"] = "expandable_blockquote"
    return entity


def parse_html(source: str, *, strict: bool = True) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise ``EntityParseError``."""
    out: list[str] = []
    utf16_offset = 0
    stack: list[_Open] = []
    entities: list[tuple[int, dict[str, Any]]] = []
    opened_count = 0
    # The language of a <code class="language-x"> directly inside <pre>, by pre's depth.
    pre_language: dict[int, str] = {}
    n = len(source)
    i = 0
    while i < n:
        char = source[i]
        if char == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16_offset += utf16_len(decoded[0])
                i += decoded[1]
                continue
            if strict:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(source, i)}; write it as &amp;'
                )
        if char != "<":
            out.append(char)
            utf16_offset += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i < n and source[i] == "/":
            i += 1
            name_start = i
            while i < n and source[i] not in _SPACE and source[i] != ">":
                i += 1
            end_name = source[name_start:i].lower()
            while i < n and source[i] in _SPACE:
                i += 1
            byte_begin = _byte_offset(source, begin)
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {byte_begin}")
            if i >= n or source[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {byte_begin}")
            i += 1
            opened = stack.pop()
            if end_name and end_name != opened.tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {byte_begin}, expected "</{opened.tag}>", '
                    f'found "</{end_name}>"'
                )
            length = utf16_offset - opened.offset
            language = pre_language.pop(len(stack), None) if opened.tag == "pre" else None
            if opened.tag == "code" and stack and stack[-1].tag == "pre":
                if opened.attribute:
                    pre_language[len(stack) - 1] = opened.attribute
                continue  # the enclosing pre carries it
            if length > 0 and not (opened.tag == "a" and not opened.attribute):
                entities.append((opened.order, _entity_for(opened, length, language)))
            continue

        tag, attributes, i = _parse_start_tag(source, i, begin)
        attribute = ""
        if tag == "a":
            attribute = attributes.get("href", "")
        elif tag == "code":
            css = attributes.get("class", "")
            attribute = css.removeprefix("language-") if css.startswith("language-") else ""
        elif tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise EntityParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(source, begin)}"
                )
        elif tag == "blockquote" and "expandable" in attributes:
            attribute = "expandable"
        stack.append(_Open(tag, attribute, utf16_offset, opened_count))
        opened_count += 1

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda item: (item[1]["offset"], -item[1]["length"], item[0]))
    return ParsedText("".join(out), [entity for _, entity in entities])


def strip_text(parsed: ParsedText) -> ParsedText:
    """Trim surrounding whitespace as Telegram does, keeping entities aligned."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)
