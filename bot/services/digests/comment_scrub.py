"""Scrubbing free text before a manager sees it: trimmed, one line, no phones or e-mails.

People write contact details into feedback ("call me on 041 123 456"). A digest
is read by the manager, so those go, and so do Telegram handles and links that
lead to a person. Escaping for HTML is the renderer's job, not this one's.
"""

from __future__ import annotations

import re

COMMENT_LIMIT = 280
REMOVED = "[…]"

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_LINK = re.compile(r"(?:https?://|www\.|t\.me/|telegram\.me/)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
# A run of digits with the separators phone numbers are written with.
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{5,}\d(?!\w)")
# Dates and times look like phone numbers to the pattern above; they stay.
_DATE = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\s?\d{1,2}\.\s?(?:\d{2}|\d{4})|\d{1,2}/\d{1,2}/\d{2,4})$"
)
_PHONE_DIGITS = 7
_SPACE = re.compile(r"\s+")


def scrub(text: str, limit: int = COMMENT_LIMIT) -> str:
    """One trimmed line of at most `limit` characters, without contact details."""
    text = _EMAIL.sub(REMOVED, text)
    text = _LINK.sub(REMOVED, text)
    text = _HANDLE.sub(REMOVED, text)
    text = _PHONE_LIKE.sub(_phone, text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0).strip()
    digits = sum(ch.isdigit() for ch in candidate)
    if digits < _PHONE_DIGITS or _DATE.match(candidate):
        return match.group(0)
    return REMOVED
