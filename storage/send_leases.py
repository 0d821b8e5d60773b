"""A send claimed under its unique key with a lease, so it goes out once and is never lost.

Every message the bot sends by itself is claimed in the database before it is sent, so
two replicas running the same job never both send it. The claim also carries a lease
(`sending_until`) until the sender settles it: a sender that died between its claim
and the send leaves a claim whose lease runs out, and the next run (on any replica)
takes it over. A send that failed is still withdrawn by its own repository, as before.

One portable statement per claim (`INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE`);
the tables and columns are this module's constants, never input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.db import Database
from storage.times import instant_text

# How long a claimed send may take before another run takes the claim over: far longer
# than a paced send with its retries takes, short enough to be the same day's message.
SEND_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class ClaimTable:
    """A table of claims: its name, its key columns, the column stamped with the claim time."""

    name: str
    key: tuple[str, ...]
    stamp: str | None = None


NOTIFICATIONS = ClaimTable("notifications", ("person_id", "org_id", "period", "kind"), "sent_at")
DIGEST_PARTS = ClaimTable(
    "digest_parts_sent", ("org_id", "unit_id", "period", "person_id", "part"), "sent_at"
)
ACTION_NEWS = ClaimTable("action_news_sent", ("action_id", "person_id"), "sent_at")
SAFEGUARDING = ClaimTable("safeguarding_sends", ("alert_id", "person_id"))


class SendLeases:
    def __init__(self, db: Database, table: ClaimTable) -> None:
        self._db = db
        self.table = table
        columns = [*table.key, "sending_until", *([table.stamp] if table.stamp else [])]
        updates = ["sending_until = excluded.sending_until"]
        if table.stamp:
            updates.append(f"{table.stamp} = excluded.{table.stamp}")
        self._claim = (
            f"INSERT INTO {table.name} ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
            f" ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {', '.join(updates)}"
            f" WHERE {table.name}.sending_until IS NOT NULL AND {table.name}.sending_until <= ?"
        )
        where = " AND ".join(f"{column} = ?" for column in table.key)
        self._settle = f"UPDATE {table.name} SET sending_until = NULL WHERE {where}"
        self._withdraw = f"DELETE FROM {table.name} WHERE {where}"
        # The last key column of the settled claims under the others (who, which part).
        leading = " AND ".join(f"{column} = ?" for column in table.key[:-1])
        self._settled = (
            f"SELECT {table.key[-1]} AS item FROM {table.name}"
            f" WHERE {leading} AND sending_until IS NULL"
        )

    async def claim(self, key: Sequence[Any], until: datetime | None = None) -> bool:
        """True: send it now (nobody claimed it, or its claimant died before settling).

        The lease runs to `until`, by default `SEND_LEASE` from the clock's now.
        """
        now = self._db.now_text()
        until = until if until is not None else self._db.clock() + SEND_LEASE
        stamp = [now] if self.table.stamp else []
        changed = await self._db.execute(self._claim, (*key, instant_text(until), *stamp, now))
        return changed == 1

    async def withdraw(self, key: Sequence[Any]) -> None:
        """A send that failed for now: the claim goes, so the next run tries it again."""
        await self._db.execute(self._withdraw, tuple(key))

    async def settled(self, leading: Sequence[Any]) -> set[Any]:
        """The last key column of the settled claims under `leading` (a live claim is not)."""
        return {row["item"] for row in await self._db.fetchall(self._settled, tuple(leading))}

    async def settle(self, key: Sequence[Any]) -> None:
        """The send went out (or is settled for good): nobody takes the claim over."""
        await self._db.execute(self._settle, tuple(key))
