"""Compact, versioned callback data (Telegram allows 1-64 bytes).

Format: `<version>:<kind>[:<field>...]`, e.g. `1:a:1234:7:2` = answer option 2
on step 7 of session 1234. Options travel as the engine's choice tokens, so every
payload stays short whatever the script's values are. Nothing here is trusted: the
dialog service checks that the session belongs to the person pressing, and the
engine that the button still belongs to the current screen. An admin's preview
has a negative session id: it is never a stored session.

Each kind has its handler, routed by `pattern(...)` (PTB's CallbackQueryHandler).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

VERSION = "1"
MAX_BYTES = 64
KINDS = {
    "a": ("session", "step", "index"),  # answer with option `index` ("n": not applicable)
    "t": ("session", "step", "index"),  # toggle one option of a multiple choice
    "c": ("session", "step"),  # confirm a multiple choice
    "s": ("session", "step"),  # skip
    "b": ("session", "step"),  # back
    "p": ("session", "step"),  # pause
    "r": ("session",),  # resume a paused session
    "go": (),  # start this week's check-in
    "later": (),  # remind me later
    "L": ("language", "code"),  # pick a language (code: a pending service-user invite)
    "dp": ("draft",),  # preview an uploaded script draft
    "du": ("draft",),  # publish it
    "dx": ("draft",),  # discard it
    "fu": ("draft",),  # publish an uploaded own framework
    "fx": ("draft",),  # discard it
    "fl": ("framework",),  # make the organisation's own framework its digest lens
    "sx": ("org", "script", "version", "fmt"),  # download a script version (org 0: global)
    "sr": ("org", "script", "version"),  # publish an earlier version again
    "ap": ("org", "unit", "framework", "item"),  # plan an action on a weak item (unit 0: all)
    "ao": (),  # the action has no owner
    "aw": ("weeks",),  # it is due in this many weeks
    "as": ("action", "status"),  # mark an action started (s), done (d) or dropped (x)
    "fg": ("choice",),  # /forget confirmed (yes) or not (no)
    "dg": ("org", "period"),  # a global admin's digest of this organisation (and week)
    "ac": ("org",),  # a global admin's list of this organisation's actions
    "iv": ("role", "org"),  # a global admin's invitation link into this organisation
    # An organisation's settings: the overview (setting "m"), a setting's choices (no
    # value), or a value chosen (see bot/services/settings_desk.py for the codes).
    "st": ("org", "setting", "value"),
    # Anonymous replies: the author's opt-in (y/n, with the offer's proof), a digest's
    # full comment list (unit 0: all), a manager's Reply, the author's one Answer.
    "ry": ("answer", "proof", "choice"),
    "cm": ("org", "unit", "period"),
    "rp": ("org", "unit", "period", "route"),
    "ra": ("route",),
    "sg": ("alert", "status"),  # mark a safeguarding alert seen (s) or followed up (f)
}
NUMBERS = frozenset(
    {"session", "step", "org", "version", "unit", "weeks", "action", "answer", "route", "alert"}
)
SIGNED = frozenset({"session"})  # previews' sessions are negative
DIALOG = ("a", "t", "c", "s", "b", "p", "r")  # the buttons of a dialog screen
_FIELD = re.compile(r"^[A-Za-z0-9_-]{0,64}$")


class BadCallback(ValueError):
    """Callback data that are not ours, not this version, or malformed."""


@dataclass(frozen=True, slots=True)
class Callback:
    kind: str
    session: int | None = None
    step: int | None = None
    index: str | None = None
    language: str | None = None
    code: str | None = None
    draft: str | None = None
    org: int | None = None
    script: str | None = None
    version: int | None = None
    fmt: str | None = None
    unit: int | None = None
    framework: str | None = None
    item: str | None = None
    weeks: int | None = None
    alert: int | None = None
    action: int | None = None
    status: str | None = None
    choice: str | None = None
    period: str | None = None
    role: str | None = None
    setting: str | None = None
    value: str | None = None
    answer: int | None = None
    proof: str | None = None
    route: int | None = None


def encode(kind: str, *fields: object) -> str:
    names = KINDS[kind]
    if len(fields) != len(names):
        raise ValueError(f"{kind} takes {names}")
    parts = [VERSION, kind, *(str(f) for f in fields)]
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES or any(":" in p for p in parts[2:]):
        raise ValueError(f"callback data too long or malformed: {data!r}")
    return data


@lru_cache(maxsize=4096)
def decode(data: str | None) -> Callback:
    """The callback data as a Callback; BadCallback if they are not ours or malformed.

    Cached: a press is decoded by its route and again by its handler, and a
    Callback is immutable.
    """
    return _decode(data)


def _decode(data: str | None) -> Callback:
    if not data or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        raise BadCallback("empty or too long")
    parts = data.split(":")
    if parts[0] != VERSION:
        raise BadCallback(f"version {parts[0]!r}")
    if len(parts) < 2 or parts[1] not in KINDS:
        raise BadCallback("unknown kind")
    kind, fields = parts[1], parts[2:]
    names = KINDS[kind]
    if len(fields) != len(names) or not all(_FIELD.match(f) for f in fields):
        raise BadCallback("fields")
    values: dict[str, object] = {}
    for name, text in zip(names, fields, strict=True):
        if name in NUMBERS:
            digits = text[1:] if name in SIGNED and text.startswith("-") else text
            if not digits.isdigit() or len(digits) > 12:
                raise BadCallback(f"{name} is not a number")
            values[name] = int(text)
        else:
            values[name] = text
    return Callback(kind, **values)  # type: ignore[arg-type]


def pattern(*kinds: str, preview: bool | None = None) -> Callable[[object], bool]:
    """A CallbackQueryHandler's route: well-formed callback data of these kinds.

    With `preview`, a dialog button only of an admin's preview (True) or of a stored
    session (False). Data that do not decode match no route but the catch-all.
    """
    wanted = frozenset(kinds)

    def matches(data: object) -> bool:
        if not isinstance(data, str):
            return False
        try:
            callback = decode(data)
        except BadCallback:
            return False
        if callback.kind not in wanted:
            return False
        if preview is None or callback.session is None:
            return True
        return (callback.session < 0) == preview

    return matches


def sessions_on(buttons: Iterable[str | None]) -> frozenset[int]:
    """The sessions whose buttons a message shows, from their callback data."""
    found: set[int] = set()
    for data in buttons:
        try:
            session = decode(data).session
        except BadCallback:
            continue
        if session is not None:
            found.add(session)
    return frozenset(found)
