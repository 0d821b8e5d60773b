"""Which digest went to whom, so a restart or a second job run never sends one twice."""

from __future__ import annotations

from storage.db import Database

_WHOLE_ORG = 0  # unit_id stored for an organisation-wide digest


class DigestRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def mark_sent(
        self, org_id: int, unit_id: int | None, period: str, person_id: int
    ) -> bool:
        """Record the digest as sent; False if it was recorded already (do not send again)."""
        changed = await self._db.execute(
            "INSERT INTO digests_sent (org_id, unit_id, period, person_id) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id),
        )
        return changed == 1

    async def was_sent(self, org_id: int, unit_id: int | None, period: str, person_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM digests_sent WHERE org_id = ? AND unit_id = ? AND period = ?"
            " AND person_id = ?",
            (org_id, _WHOLE_ORG if unit_id is None else unit_id, period, person_id),
        )
        return row is not None
