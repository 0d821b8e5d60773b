"""The multi-step flows each person is in, kept where every replica reads them.

One row per person in a flow, by a keyed hash of their Telegram id; the flows' data is
sealed (the caller seals it), so the row says neither who nor what. A person in no flow
has no row: their updates cost one primary-key read.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.times import instant_text

_SAVE = (
    "INSERT INTO flow_states (person_key, sealed, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (person_key) DO UPDATE SET sealed = excluded.sealed,"
    " updated_at = excluded.updated_at"
)


class FlowStates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, person_key: str) -> bytes | None:
        row = await self._db.fetchone(
            "SELECT sealed FROM flow_states WHERE person_key = ?", (person_key,)
        )
        return None if row is None else bytes(row[0])

    async def save(self, person_key: str, sealed: bytes) -> None:
        await self._db.execute(_SAVE, (person_key, sealed, self._db.now_text()))

    async def drop(self, person_key: str) -> None:
        await self._db.execute("DELETE FROM flow_states WHERE person_key = ?", (person_key,))

    async def prune(self, before: datetime) -> int:
        """Forget flows untouched since `before` (long expired: their person never came back)."""
        return await self._db.execute(
            "DELETE FROM flow_states WHERE updated_at < ?", (instant_text(before),)
        )
