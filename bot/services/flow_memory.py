"""The flows a person is in, as one sealed JSON text in the database, for every replica.

Behind a webhook a person's next update may reach any replica, so a flow's state cannot
live in one process. The adapter hands its state over as text before and after each of
the person's updates. Service users chat with the bot too (answering a reply): their row
is keyed by an HMAC of the Telegram id under a purpose of its own (not the respondent key,
so it joins nothing), and the text is sealed, bound to that key, because it names a reply
route. Flows end in 30 minutes; a row left behind is pruned a day after its last change.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.db import Database
from storage.flow_states import FlowStates
from storage.sealing import SealBroken, Sealer

PURPOSE = "carecheck flow state"
KEEP = timedelta(days=1)


class FlowMemory:
    def __init__(self, db: Database, secret: bytes) -> None:
        self._rows = FlowStates(db)
        self._sealer = Sealer(secret, PURPOSE)
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=(PURPOSE + " key").encode()
        ).derive(secret)

    def _person_key(self, telegram_id: int) -> str:
        return hmac.new(self._key, str(telegram_id).encode("ascii"), hashlib.sha256).hexdigest()

    async def load(self, telegram_id: int) -> str | None:
        """The person's flows as last saved by any replica; None: in no flow."""
        key = self._person_key(telegram_id)
        sealed = await self._rows.load(key)
        if sealed is None:
            return None
        try:
            return self._sealer.open(sealed, key.encode("ascii")).decode("utf-8")
        except (SealBroken, UnicodeDecodeError):
            await self._rows.drop(key)  # another secret or tampered: the flows are lost
            return None

    async def save(self, telegram_id: int, text: str | None) -> None:
        """Store the person's flows; None: they are in none now."""
        key = self._person_key(telegram_id)
        if text is None:
            await self._rows.drop(key)
        else:
            await self._rows.save(key, self._sealer.seal(text.encode("utf-8"), key.encode("ascii")))

    async def prune(self, now: datetime) -> int:
        return await self._rows.prune(now - KEEP)
