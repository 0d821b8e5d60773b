"""Cutting a long Telegram HTML text into messages that each parse on their own.

The one way every long text leaves the bot. Lengths count UTF-16 code units, as
Telegram does, of the raw HTML, which is never shorter than the text left after
entity parsing. A cut goes at the last blank line that fits (between sections),
else the last line end, else the last space, else between two characters; never
inside a tag or an entity such as `&amp;`. A tag still open at a cut is closed
before it and opened again after it, so a `<code>` that spans a cut stays code.
Nothing is dropped: joining the messages gives back every character of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096
# A tag, an entity, or one character: the pieces a cut may go between.
_ATOM = re.compile(r"<[^<>]*>|&#?[A-Za-z0-9]{1,32};|.", re.DOTALL)
_TAG_NAME = re.compile(r"^</?\s*([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length in UTF-16 code units: an emoji counts two."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    tag: str  # the opening tag as written, attributes and all


def split_message(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Messages of at most `limit` units, cut where a reader expects a break."""
    atoms = _ATOM.findall(html.strip("\n"))
    messages: list[str] = []
    carried: list[_Open] = []  # tags open at the last cut: opened again in the next message
    start = 0
    while start < len(atoms):
        reopen = "".join(tag.tag for tag in carried)
        end, still_open = _cut(atoms, start, limit - units(reopen), carried)
        body = reopen + "".join(atoms[start:end])
        closers = "".join(f"</{tag.name}>" for tag in reversed(still_open))
        text = (body + closers).strip("\n")
        if text and _has_text(text):
            messages.append(text)
        carried = still_open
        start = end
        while start < len(atoms) and atoms[start] == "\n":
            start += 1  # a message does not start with the break it was cut at
    return messages


def _cut(atoms: list[str], start: int, room: int, carried: list[_Open]) -> tuple[int, list[_Open]]:
    """Where the message from `start` ends (exclusive), and the tags open there."""
    stack = list(carried)
    best: dict[str, tuple[int, list[_Open]]] = {}
    used = 0
    i = start
    while i < len(atoms):
        atom = atoms[i]
        size = units(atom)
        # What the message would need to close its tags if it ended after this atom.
        after = _after(atom, stack)
        if used + size + sum(len(t.name) + 3 for t in after) > room and i > start:
            break
        used += size
        stack = after
        i += 1
        if atom == "\n":
            kind = "blank" if i - 2 >= start and atoms[i - 2] == "\n" else "line"
            best[kind] = (i, list(stack))
        elif atom == " ":
            best["space"] = (i, list(stack))
    if i >= len(atoms):
        return i, stack
    for kind in ("blank", "line", "space"):
        if kind in best and best[kind][0] > start:
            return best[kind]
    return i, stack


def _after(atom: str, stack: list[_Open]) -> list[_Open]:
    """The open tags after `atom`."""
    if not atom.startswith("<") or len(atom) < 3:
        return stack
    match = _TAG_NAME.match(atom)
    if match is None:
        return stack
    name = match.group(1).lower()
    if atom.startswith("</"):
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth].name == name:
                return stack[:depth]
        return stack
    if atom.endswith("/>"):
        return stack
    return [*stack, _Open(name, atom)]


def _has_text(message: str) -> bool:
    """Whether a message shows anything once its tags are taken away."""
    return bool(re.sub(r"<[^<>]*>", "", message).strip())
