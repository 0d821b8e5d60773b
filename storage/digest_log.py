"""Which digest went to whom, part by part, so a restart or a second job never sends twice.

A part is claimed before it is sent: a failure withdraws the claim (the next run tries
that part again, alone); a process killed between the claim and the send leaves a claim
whose lease runs out, and the part is sent by a later run (`storage/send_leases.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.rows import record
from storage.send_leases import DIGEST_PARTS, SendLeases

_WHOLE_ORG = 0  # unit_id stored for an organisation-wide digest

# Active managers still owed a period's digest: one per organisation-wide role, one per
# unit role unless the same person also manages the whole organisation.
_UNSENT = (
    "SELECT p.id AS person_id, p.telegram_id, p.language, m.unit_id"
    " FROM memberships m JOIN people p ON p.id = m.person_id"
    " WHERE m.org_id = ?1 AND m.role = 'manager' AND p.active = 1"
    " AND (m.unit_id IS NULL OR NOT EXISTS (SELECT 1 FROM memberships w"
    "   WHERE w.person_id = m.person_id AND w.org_id = m.org_id AND w.role = 'manager'"
    "   AND w.unit_id IS NULL))"
    " AND NOT EXISTS (SELECT 1 FROM digests_sent d WHERE d.org_id = m.org_id"
    "   AND d.unit_id = coalesce(m.unit_id, 0) AND d.period = ?2 AND d.person_id = p.id)"
    " ORDER BY coalesce(m.unit_id, 0), p.id"
)


@dataclass(frozen=True)
class Recipient:
    """A manager owed a digest: of the whole organisation (unit_id None) or of one unit."""

    person_id: int
    telegram_id: int
    language: str
    unit_id: int | None


class DigestRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._parts = SendLeases(db, DIGEST_PARTS)

    async def mark_sent(
        self, org_id: int, unit_id: int | None, period: str, person_id: int
    ) -> bool:
        """Record the digest as sent; False if it was recorded already (do not send again)."""
        changed = await self._db.execute(
            "INSERT INTO digests_sent (org_id, unit_id, period, person_id, sent_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                org_id,
                _WHOLE_ORG if unit_id is None else unit_id,
                period,
                person_id,
                self._db.now_text(),
            ),
        )
        return changed == 1

    async def was_sent(self, org_id: int, unit_id: int | None, period: str, person_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM digests_sent WHERE org_id = ? AND unit_id = ? AND period = ?"
            " AND person_id = ?",
            (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id),
        )
        return row is not None

    async def unmark(self, org_id: int, unit_id: int | None, period: str, person_id: int) -> bool:
        """Forget a send that failed after `mark_sent` claimed it, so it is tried again."""
        changed = await self._db.execute(
            "DELETE FROM digests_sent WHERE org_id = ? AND unit_id = ? AND period = ?"
            " AND person_id = ?",
            (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id),
        )
        return changed == 1

    async def parts_claimed(
        self, org_id: int, unit_id: int | None, period: str, person_id: int
    ) -> set[str]:
        """The parts settled (sent, or given up for good); a live claim is not one of them."""
        leading = (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id)
        return {str(part) for part in await self._parts.settled(leading)}

    async def claim_part(
        self, org_id: int, unit_id: int | None, period: str, person_id: int, part: str
    ) -> bool:
        """Claim one part for sending; False if it is claimed (by a run that is alive)."""
        key = (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id, part)
        return await self._parts.claim(key)

    async def settle_part(
        self, org_id: int, unit_id: int | None, period: str, person_id: int, part: str
    ) -> None:
        key = (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id, part)
        await self._parts.settle(key)

    async def unclaim_part(
        self, org_id: int, unit_id: int | None, period: str, person_id: int, part: str
    ) -> None:
        """A part whose send failed: the next run tries it again."""
        key = (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id, part)
        await self._parts.withdraw(key)

    async def unsent(self, org_id: int, period: str) -> list[Recipient]:
        """The organisation's active managers who have not had this period's digest."""
        rows = await self._db.fetchall(_UNSENT, (org_id, period))
        return [record(Recipient, r) for r in rows]
