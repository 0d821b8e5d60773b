"""Reply routes: the sealed way back to a comment's author, and who replied along it.

Only `bot/services/comment_replies.py` seals and opens them; here they are bytes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from storage.connection import Connection, Row
from storage.db import Database
from storage.times import day, day_text

ROUTE_IDS = 10**12  # random ids below this: they fit callback data and tell no order


@dataclass(frozen=True)
class Route:
    id: int
    answer_id: int
    org_id: int
    sealed: bytes
    expires_on: date
    answered: bool
    comment: str | None  # the comment it answers (None once retention removed the text)


@dataclass(frozen=True)
class Commented:
    """A stored comment: what an opt-in button may point at."""

    answer_id: int
    org_id: int
    comment: str


_ROUTE = """
SELECT r.id, r.answer_id, r.org_id, r.sealed, r.expires_on, r.answered, a.comment
FROM reply_routes r JOIN answers a ON a.id = r.answer_id
"""


_COMMENTED = """
SELECT id, org_id, comment FROM answers WHERE comment IS NOT NULL AND trim(comment) <> ''
"""


def _route(row: Row) -> Route:
    return Route(
        int(row[0]), int(row[1]), int(row[2]), bytes(row[3]), day(row[4]), bool(row[5]), row[6]
    )


class ReplyRouteRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def commented(self, session_id: int) -> list[Commented]:
        """The session's answers with a non-empty comment, in the order given."""
        rows = await self.db.fetchall(_COMMENTED + " AND session_id = ? ORDER BY id", (session_id,))
        return [Commented(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def answer_comment(self, answer_id: int) -> Commented | None:
        row = await self.db.fetchone(_COMMENTED + " AND id = ?", (answer_id,))
        return None if row is None else Commented(int(row[0]), int(row[1]), str(row[2]))

    async def add(self, answer_id: int, org_id: int, sealed: bytes, expires_on: date) -> bool:
        """Store a route under a random id; False if the answer has one already."""

        def add(conn: Connection) -> bool:
            if conn.execute(
                "SELECT 1 FROM reply_routes WHERE answer_id = ?", (answer_id,)
            ).fetchone():
                return False
            while True:
                route_id = secrets.randbelow(ROUTE_IDS - 1) + 1
                if not conn.execute(
                    "SELECT 1 FROM reply_routes WHERE id = ?", (route_id,)
                ).fetchone():
                    break
            conn.execute(
                "INSERT INTO reply_routes (id, answer_id, org_id, sealed, expires_on)"
                " VALUES (?, ?, ?, ?, ?)",
                (route_id, answer_id, org_id, sealed, day_text(expires_on)),
            )
            return True

        return await self.db.run(add)

    async def get(self, route_id: int) -> Route | None:
        row = await self.db.fetchone(_ROUTE + " WHERE r.id = ?", (route_id,))
        return None if row is None else _route(row)

    async def every(self) -> list[Route]:
        """All routes: /forget and /privacy open each to find a person's (they are few)."""
        return [_route(row) for row in await self.db.fetchall(_ROUTE + " ORDER BY r.id")]

    async def add_sender(self, route_id: int, person_id: int) -> None:
        await self.db.execute(
            "INSERT INTO reply_senders (route_id, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (route_id, person_id),
        )

    async def senders(self, route_id: int) -> list[tuple[int, str]]:
        """(Telegram id, language) of the people who replied along the route."""
        rows = await self.db.fetchall(
            "SELECT p.telegram_id, p.language FROM reply_senders s"
            " JOIN people p ON p.id = s.person_id WHERE s.route_id = ? ORDER BY p.id",
            (route_id,),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def mark_answered(self, route_id: int) -> bool:
        """Claim the author's one answer; False if it was claimed already."""
        changed = await self.db.execute(
            "UPDATE reply_routes SET answered = 1 WHERE id = ? AND answered = 0", (route_id,)
        )
        return changed == 1

    async def delete(self, route_ids: list[int]) -> int:
        """Delete these routes; the freed pages are zeroed and the log truncated too."""

        def delete(conn: Connection) -> int:
            return sum(
                conn.execute("DELETE FROM reply_routes WHERE id = ?", (i,)).rowcount
                for i in route_ids
            )

        return await self.db.run(delete, scrub=bool)

    async def purge(self, before: date) -> int:
        """Delete the routes whose last day is before `before`."""

        def purge(conn: Connection) -> int:
            return conn.execute(
                "DELETE FROM reply_routes WHERE expires_on < ?", (day_text(before),)
            ).rowcount

        return await self.db.run(purge, scrub=bool)
