"""A token bucket in the database: one row, taken from in a write transaction.

Portable SQL only: the row is locked first by a no-op UPDATE (PostgreSQL's row lock;
SQLite's BEGIN IMMEDIATE has locked the file already), then read and written; the
arithmetic is Python's, so no LEAST/GREATEST against min/max between dialects.
"""

from __future__ import annotations

from storage.connection import Connection
from storage.db import Database


class SendBudget:
    def __init__(self, db: Database, name: str, rate: float, burst: float) -> None:
        self._db = db
        self.name = name
        self.rate = rate
        self.burst = burst

    async def reserve(self) -> float:
        """Take one token, into debt if need be; the seconds to wait before using it."""
        now = self._db.clock().timestamp()

        def reserve(conn: Connection) -> float:
            tokens, stamp = self._refilled(conn, now)
            tokens -= 1.0
            self._store(conn, tokens, stamp)
            return 0.0 if tokens >= 0 else -tokens / self.rate

        return await self._db.run(reserve)

    async def drain(self, seconds: float) -> None:
        """Nobody takes a token for `seconds` (Telegram said: retry after that long)."""
        now = self._db.clock().timestamp()

        def drain(conn: Connection) -> None:
            tokens, stamp = self._refilled(conn, now)
            self._store(conn, min(tokens, -seconds * self.rate), stamp)

        await self._db.run(drain)

    def _refilled(self, conn: Connection, now: float) -> tuple[float, float]:
        """The tokens there are now, and the instant they were counted at."""
        conn.execute("UPDATE send_budgets SET tokens = tokens WHERE name = ?", (self.name,))
        row = conn.execute(
            "SELECT tokens, refilled_at FROM send_budgets WHERE name = ?", (self.name,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO send_budgets (name, tokens, refilled_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (self.name, self.burst, now),
            )
            return self.burst, now
        tokens, refilled_at = float(row[0]), float(row[1])
        # A clock set back (tests do) refills nothing until it passes the last refill.
        if now <= refilled_at:
            return tokens, refilled_at
        return min(self.burst, tokens + (now - refilled_at) * self.rate), now

    def _store(self, conn: Connection, tokens: float, stamp: float) -> None:
        conn.execute(
            "UPDATE send_budgets SET tokens = ?, refilled_at = ? WHERE name = ?",
            (tokens, stamp, self.name),
        )
