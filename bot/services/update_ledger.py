"""Each Telegram update applied once, whichever replica it reaches and however often.

Behind a webhook, Telegram posts an update again when it did not get a 2xx answer in
time, and a load balancer may hand the retry to another replica. The adapter asks
`begin` before applying an update and says `finished` or `failed` after; the claim
lives in the database, so every replica on it sees the same ledger.

The one gap a ledger cannot close is a crash after the update's own commit and before
`finished`: the lease runs out and the redelivery is applied again. That is safe because
every stored effect of an update is guarded by itself: a press carries its session's
step and revision (`SessionRepo.save` refuses a stale one), and the sends the bot makes
by itself are claimed with unique keys.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database
from storage.update_claims import Claim, UpdateClaims

# Longer than any update takes (a digest on demand is seconds); a replica that died
# holding a claim delays that update by at most this.
LEASE = timedelta(minutes=2)
# Telegram keeps an undelivered update for 24 hours; a claim is kept a day longer.
KEEP = timedelta(days=2)


class UpdateLedger:
    def __init__(self, db: Database, lease: timedelta = LEASE) -> None:
        self._claims = UpdateClaims(db)
        self.lease = lease

    async def begin(self, update_id: int) -> Claim:
        return await self._claims.claim(update_id, self.lease)

    async def finished(self, update_id: int) -> None:
        await self._claims.finish(update_id)

    async def failed(self, update_id: int) -> None:
        await self._claims.release(update_id)

    async def prune(self, now: datetime) -> int:
        return await self._claims.prune(now - KEEP)
