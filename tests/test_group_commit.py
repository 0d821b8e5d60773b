"""Group commit: steps share a transaction, but each succeeds or fails on its own."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from storage import Database, OrgRepo, PeopleRepo, ScriptRepo, SessionRepo, StaleRevision
from storage.sessions import AnswerRow, StepWrite
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

TODAY = date(2026, 11, 23)


async def sessions(db: Database, count: int) -> list[int]:
    org = await OrgRepo(db).create_org("G")
    version = await ScriptRepo(db).publish("s", None, "id: s\n", "yaml", "S", None, [])
    repo = SessionRepo(db)
    ids = []
    for i in range(count):
        person = await PeopleRepo(db).get_or_create(500 + i, "en")
        row = await repo.create(
            version.id, org, None, "staff", person.id, None, "2026-W48", "{}", TODAY
        )
        ids.append(row.id)
    return ids


async def test_concurrent_steps_share_commits_and_fail_alone(db_location: str) -> None:
    async with await Database.open(db_location, clock=CLOCK) as db:
        ids = await sessions(db, 30)
        commits = SessionRepo(db)

        def write(session: int, revision: int) -> StepWrite:
            return StepWrite(session, revision, "{}", "active", TODAY, AnswerRow("q1", score=4.0))

        # Every session's first step, plus one stale step (revision 5) in the same burst.
        results = await asyncio.gather(
            *(commits.save(write(s, 0)) for s in ids),
            commits.save(write(ids[0], 5)),
            return_exceptions=True,
        )
        assert results[:30] == [1] * 30
        assert isinstance(results[30], StaleRevision)
        rows = await db.fetchall("SELECT session_id FROM answers ORDER BY session_id")
        assert [r["session_id"] for r in rows] == ids
        # The same answer again (a retried update) stays one row.
        assert await commits.save(write(ids[1], 1)) == 2
        count = await db.fetchone(
            "SELECT count(*) AS n FROM answers WHERE session_id = ?", (ids[1],)
        )
        assert count["n"] == 1


async def test_a_failed_transaction_fails_every_step_in_it(db_location: str) -> None:
    async with await Database.open(db_location, clock=CLOCK) as db:
        ids = await sessions(db, 2)
        repo = SessionRepo(db)
        commits = repo

        async def broken(writes: list[StepWrite]) -> list[int]:
            raise OSError("disk full")

        repo.save_steps = broken  # type: ignore[method-assign]
        with pytest.raises(OSError):
            await commits.save(StepWrite(ids[0], 0, "{}", "active", TODAY))
        assert await db.fetchall("SELECT id FROM answers") == []
