"""Check-in invitations claimed with a lease, so a replica that dies mid-send skips no one.

A pulse or reminder is claimed under its unique key before it is sent, as before
(`notifications`), but the claim carries `sending_until` until the send is confirmed: a
claim whose replica died before confirming is taken over once that instant is past,
and the person is invited after all. A snooze is taken the same way: its due time is
moved on by the lease instead of the row being deleted, and deleted once the reminder
went out (`storage/send_leases.py`; portable SQL: `UPDATE ... RETURNING`).
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.notifications import Kind, Snooze
from storage.rows import record
from storage.send_leases import NOTIFICATIONS, SendLeases
from storage.times import instant_text


class InvitationClaims:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._leases = SendLeases(db, NOTIFICATIONS)

    async def claim(
        self, person_id: int, org_id: int, period: str, kind: Kind, until: datetime
    ) -> bool:
        """True: send it now (new, or its earlier sender died before confirming)."""
        return await self._leases.claim((person_id, org_id, period, kind), until)

    async def confirm(self, person_id: int, org_id: int, period: str, kind: Kind) -> None:
        """The send went out (or is settled for good): nobody takes the claim over."""
        await self._leases.settle((person_id, org_id, period, kind))

    async def take_due_snoozes(self, now: datetime, until: datetime) -> list[tuple[Snooze, str]]:
        """The snoozes due at `now`, each leased to this caller until `until`."""
        leased = instant_text(until)
        rows = await self._db.fetchall(
            "UPDATE snoozes SET due_at = ? WHERE due_at <= ? RETURNING person_id, org_id",
            (leased, instant_text(now)),
        )
        return [(record(Snooze, row), leased) for row in rows]

    async def snooze_done(self, person_id: int, leased: str) -> None:
        """Delete a snooze once its reminder went out (not one set again meanwhile)."""
        await self._db.execute(
            "DELETE FROM snoozes WHERE person_id = ? AND due_at = ?", (person_id, leased)
        )
