"""Improvement actions planned from a digest: the "plan" and "act" of the PDCA loop."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from storage.db import Database
from storage.errors import NotFound
from storage.rows import record
from storage.send_leases import ACTION_NEWS, SendLeases
from storage.times import day_text, maybe_day_text

ActionStatus = Literal["open", "started", "done", "dropped"]


@dataclass(frozen=True)
class Action:
    id: int
    org_id: int
    unit_id: int | None
    framework: str
    item_id: str
    title: str
    owner: str | None
    due_on: date | None
    status: ActionStatus
    baseline: float | None  # the item's score when the action was planned
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    done_on: date | None


class ActionRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        org_id: int,
        unit_id: int | None,
        framework: str,
        item_id: str,
        title: str,
        owner: str | None,
        due_on: date | None,
        baseline: float | None,
        created_by: int | None,
    ) -> Action:
        row = await self._db.fetchone(
            "INSERT INTO actions (org_id, unit_id, framework, item_id, title, owner, due_on,"
            " baseline, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?10, ?10) RETURNING *",
            (
                org_id,
                unit_id,
                framework,
                item_id,
                title,
                owner,
                maybe_day_text(due_on),
                baseline,
                created_by,
                self._db.now_text(),
            ),
        )
        assert row is not None
        return record(Action, row)

    async def get(self, action_id: int) -> Action | None:
        row = await self._db.fetchone("SELECT * FROM actions WHERE id = ?", (action_id,))
        return None if row is None else record(Action, row)

    async def list(
        self,
        org_id: int,
        unit_id: int | None = None,
        statuses: Collection[ActionStatus] | None = None,
    ) -> list[Action]:
        """An organisation's actions (of one unit, in some statuses), soonest due first."""
        if statuses is not None and not statuses:
            return []
        wanted = list(statuses or ())
        status_filter = f" AND status IN ({', '.join('?' * len(wanted))})" if wanted else ""
        rows = await self._db.fetchall(
            "SELECT * FROM actions WHERE org_id = ? AND (CAST(? AS BIGINT) IS NULL OR unit_id = ?)"
            + status_filter
            + " ORDER BY due_on IS NULL, due_on, id",
            (org_id, unit_id, unit_id, *wanted),
        )
        return [record(Action, row) for row in rows]

    async def set_status(self, action_id: int, status: ActionStatus, today: date) -> Action:
        """Move an action along; `done_on` is today when it becomes done, else cleared."""
        row = await self._db.fetchone(
            "UPDATE actions SET status = ?1,"
            " done_on = CASE WHEN ?1 = 'done' THEN coalesce(done_on, ?2) END,"
            " updated_at = ?4 WHERE id = ?3 RETURNING *",
            (status, day_text(today), action_id, self._db.now_text()),
        )
        if row is None:
            raise NotFound(f"action {action_id} does not exist")
        return record(Action, row)


class ActionNewsRepo:
    """Done actions whose staff are still to be told ("you said, we did"), and who was."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sends = SendLeases(db, ACTION_NEWS)

    async def due(self) -> list[Action]:
        """Actions queued by becoming done (the trigger of `actions`), oldest first."""
        rows = await self._db.fetchall(
            "SELECT a.* FROM action_news_due q JOIN actions a ON a.id = q.action_id"
            " WHERE a.status = 'done' ORDER BY a.id"
        )
        return [record(Action, row) for row in rows]

    async def finished(self, action_id: int) -> None:
        """Everyone it concerns has been told (or could not be, for good)."""
        await self._db.execute("DELETE FROM action_news_due WHERE action_id = ?", (action_id,))

    async def claim(self, action_id: int, person_id: int) -> bool:
        """Claim one person's message; False when it is claimed (by a run that is alive)."""
        return await self._sends.claim((action_id, person_id))

    async def settle(self, action_id: int, person_id: int) -> None:
        """The message went out (or never will): nobody takes the claim over."""
        await self._sends.settle((action_id, person_id))

    async def told(self, action_id: int) -> set[int]:
        """The people whose message of this action is settled (a live claim is not)."""
        return {int(person) for person in await self._sends.settled((action_id,))}

    async def unclaim(self, action_id: int, person_id: int) -> None:
        """A send that failed for now: the next run tries that person again."""
        await self._sends.withdraw((action_id, person_id))
