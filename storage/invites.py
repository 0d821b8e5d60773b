"""Invite codes: the only way into an organisation, for staff and service users alike."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.connection import Connection, Row
from storage.db import Database
from storage.errors import InviteError
from storage.rows import record
from storage.times import instant_text

InviteRole = Literal["staff", "service_user", "manager", "admin"]

# Letters and digits only: a code that began with '-' would read as an option on the
# command line (`invite revoke CODE`). 22 of 62 symbols carry 130 bits, as 16 random bytes.
_CODE_ALPHABET = string.ascii_letters + string.digits
_CODE_LENGTH = 22


@dataclass(frozen=True)
class Invite:
    code: str
    org_id: int | None  # None only for a global admin invite
    unit_id: int | None
    role: InviteRole
    max_uses: int | None  # None: unlimited
    uses: int
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by: int | None
    created_at: datetime


def _refusal(row: Row | None, at: str) -> str | None:
    """Why an invite cannot be used at instant `at` (stored text form), or None."""
    if row is None:
        return "unknown"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= at:
        return "expired"
    if row["max_uses"] is not None and row["uses"] >= row["max_uses"]:
        return "used_up"
    return None


class InviteRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        org_id: int | None,
        unit_id: int | None,
        role: InviteRole,
        max_uses: int | None,
        expires_at: datetime | None,
        created_by: int | None,
    ) -> Invite:
        row = await self._db.fetchone(
            "INSERT INTO invites (code, org_id, unit_id, role, max_uses, expires_at, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                new_code(),
                org_id,
                unit_id,
                role,
                max_uses,
                None if expires_at is None else instant_text(expires_at),
                created_by,
                self._db.now_text(),
            ),
        )
        assert row is not None
        return record(Invite, row)

    async def get(self, code: str) -> Invite | None:
        row = await self._db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
        return None if row is None else record(Invite, row)

    async def redeem(self, code: str, now: datetime) -> Invite:
        """Count one use of the invite, or raise `InviteError` saying why not.

        The check and the increment are one conditional UPDATE, so concurrent
        redeems (even from other processes) can never exceed `max_uses`.
        """
        at = instant_text(now)

        def redeem(conn: Connection) -> Invite:
            row = conn.execute(
                "UPDATE invites SET uses = uses + 1 WHERE code = ? AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > ?)"
                " AND (max_uses IS NULL OR uses < max_uses) RETURNING *",
                (code, at),
            ).fetchone()
            if row is not None:
                return record(Invite, row)
            current = conn.execute("SELECT * FROM invites WHERE code = ?", (code,)).fetchone()
            raise InviteError(_refusal(current, at) or "used_up")

        return await self._db.run(redeem)

    async def check(self, code: str, now: datetime) -> Invite:
        """The invite if it could be used now, without using it; else `InviteError`."""
        row = await self._db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
        reason = _refusal(row, instant_text(now))
        if reason is not None or row is None:
            raise InviteError(reason or "unknown")
        return record(Invite, row)

    async def revoke(self, code: str, now: datetime | None = None) -> bool:
        """Revoke an invite; False if it is unknown or was revoked already."""
        changed = await self._db.execute(
            "UPDATE invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL",
            (instant_text(now) if now is not None else self._db.now_text(), code),
        )
        return changed == 1

    async def list(self, org_id: int | None) -> list[Invite]:
        """An organisation's invites (None: the global admin invites), newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM invites WHERE org_id IS NOT DISTINCT FROM ? ORDER BY created_at"
            " DESC, code",
            (org_id,),
        )
        return [record(Invite, row) for row in rows]


def new_code() -> str:
    """A fresh invite code: unguessable, and safe in a t.me link and on a command line."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
