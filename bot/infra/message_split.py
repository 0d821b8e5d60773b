"""Cutting a long Telegram HTML text into messages that each parse on their own.

The digest template closes every tag on the line that opens it, so any line
boundary is a safe cut. Cuts go between sections (blank lines) where they can,
else between lines. Lengths count UTF-16 code units, as Telegram does, of the
raw HTML, which is never shorter than the text left after entity parsing.
"""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


def units(text: str) -> int:
    """Length in UTF-16 code units: an emoji counts two."""
    return len(text.encode("utf-16-le")) // 2


def split_message(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Messages of at most `limit` units, cut at blank lines, else at line ends."""
    messages: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = "\n".join(current).strip("\n")
        if text:
            messages.append(text)
        current.clear()

    for block in html.strip("\n").split("\n\n"):
        candidate = "\n".join([*current, "", block]) if current else block
        if units(candidate) <= limit:
            current[:] = candidate.split("\n")
            continue
        flush()
        for line in block.split("\n"):
            line = line if units(line) <= limit else _shorten(line, limit)
            candidate = "\n".join([*current, line])
            if current and units(candidate) > limit:
                flush()
            current.append(line)
    flush()
    return messages


def _shorten(line: str, limit: int) -> str:
    """A line longer than a message: its text alone, cut short (the template never makes one)."""
    text = _TAG.sub("", line)
    cut = []
    used = 0
    for char in text:
        size = units(char)
        if used + size > limit - 1:
            break
        cut.append(char)
        used += size
    shortened = "".join(cut)
    # Never end inside an entity such as &amp;
    ampersand = shortened.rfind("&")
    if ampersand != -1 and ";" not in shortened[ampersand:]:
        shortened = shortened[:ampersand]
    return shortened + "…"
