"""Which Telegram updates were applied, so a redelivered one is applied at most once.

Telegram redelivers an update it did not see acknowledged, possibly to another replica.
The claim is one portable upsert (`ON CONFLICT ... DO UPDATE ... WHERE`, `RETURNING`): it
inserts a new claim, or takes over a 'working' one whose lease has run out, and says
which happened, in one write transaction, whatever the number of replicas.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from storage.connection import Connection
from storage.db import Database
from storage.times import instant_text

Claim = Literal["apply", "done", "busy"]

_CLAIM = (
    "INSERT INTO update_claims (update_id, state, lease_until, claimed_at)"
    " VALUES (?, 'working', ?, ?)"
    " ON CONFLICT (update_id) DO UPDATE SET lease_until = excluded.lease_until,"
    " claimed_at = excluded.claimed_at"
    " WHERE update_claims.state = 'working' AND update_claims.lease_until <= excluded.claimed_at"
    " RETURNING update_id"
)


class UpdateClaims:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, update_id: int, lease: timedelta) -> Claim:
        """'apply': this replica applies it now; 'done': applied already; 'busy': another
        replica holds a live claim (answer so that Telegram asks again later)."""
        now = self._db.clock()
        until, at = instant_text(now + lease), instant_text(now)

        def claim(conn: Connection) -> Claim:
            if conn.execute(_CLAIM, (update_id, until, at)).fetchall():
                return "apply"
            row = conn.execute(
                "SELECT state FROM update_claims WHERE update_id = ?", (update_id,)
            ).fetchone()
            return "done" if row is not None and row[0] == "done" else "busy"

        return await self._db.run(claim)

    async def finish(self, update_id: int) -> None:
        await self._db.execute(
            "UPDATE update_claims SET state = 'done' WHERE update_id = ?", (update_id,)
        )

    async def release(self, update_id: int) -> None:
        """Processing failed: drop the claim, so the redelivery is applied again."""
        await self._db.execute(
            "DELETE FROM update_claims WHERE update_id = ? AND state = 'working'", (update_id,)
        )

    async def prune(self, before: datetime) -> int:
        """Forget claims made before `before` (Telegram keeps an update 24 hours at most)."""
        return await self._db.execute(
            "DELETE FROM update_claims WHERE claimed_at < ?", (instant_text(before),)
        )
