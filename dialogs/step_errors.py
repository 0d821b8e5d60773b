"""Typed errors of the dialog engine.

Each carries a stable `code` and `params`, so the console and the bot can show a
translated one-line explanation while the log keeps the English detail.
"""

from __future__ import annotations

from typing import Any


class DialogError(Exception):
    """Base: the step was refused and the session is unchanged."""

    code = "dialog_error"

    def __init__(self, detail: str, **params: Any) -> None:
        super().__init__(detail)
        self.params = params


class InvalidAnswer(DialogError):
    """The value does not fit the question: `code` says how."""

    def __init__(self, code: str, detail: str, **params: Any) -> None:
        super().__init__(detail, **params)
        self.code = code


class StaleQuestion(DialogError):
    """The step refers to a screen the session has already left (an old button, a retry)."""

    code = "stale"


class SessionFinished(DialogError):
    code = "finished"


class SessionPaused(DialogError):
    code = "paused"


class NotSkippable(DialogError):
    code = "required"


class CannotGoBack(DialogError):
    code = "no_previous"


class CorruptState(DialogError):
    """A stored state that does not fit the script version it names."""

    code = "corrupt_state"
