"""Typed storage errors, so callers can tell a conflict they must handle from a bug."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class MigrationError(StorageError):
    """The schema cannot be brought to the version this code expects."""


class NotFound(StorageError):
    """A row the caller named does not exist."""


class AlreadyExists(StorageError):
    """A row with the same natural key exists already."""


class StaleRevision(StorageError):
    """The session moved on (another step, a second device, or it was completed).

    Nothing of the failed step was written: the caller reloads and re-renders.
    """

    def __init__(self, session_id: int, expected_revision: int) -> None:
        super().__init__(
            f"session {session_id} is no longer at revision {expected_revision} "
            "or is already completed"
        )
        self.session_id = session_id
        self.expected_revision = expected_revision


class InviteError(StorageError):
    """An invite cannot be redeemed; `reason` is what the bot explains to the person."""

    REASONS = frozenset({"unknown", "expired", "revoked", "used_up"})

    def __init__(self, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown invite error reason {reason!r}")
        super().__init__(f"invite cannot be redeemed: {reason}")
        self.reason = reason


class SecretError(StorageError):
    """The installation secret file is missing its 32 bytes or cannot be written."""


class DamagedCopy(StorageError):
    """A backup copy failed SQLite's integrity check; the message is SQLite's verdict."""
