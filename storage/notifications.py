"""What the bot sends by itself (weekly pulses, reminders, snoozes), recorded so it is sent once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Database
from storage.times import instant_text

Kind = Literal["pulse", "reminder"]


@dataclass(frozen=True)
class Snooze:
    person_id: int
    org_id: int


class NotificationRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def unmark(self, person_id: int, org_id: int, period: str, kind: Kind) -> None:
        """Forget a send that failed for good, so the next run tries again."""
        await self._db.execute(
            "DELETE FROM notifications WHERE person_id = ? AND org_id = ? AND period = ?"
            " AND kind = ?",
            (person_id, org_id, period, kind),
        )

    async def snooze(self, person_id: int, org_id: int, due_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO snoozes (person_id, org_id, due_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET org_id = excluded.org_id,"
            " due_at = excluded.due_at",
            (person_id, org_id, instant_text(due_at)),
        )
