"""The flows' rows: one per person in a flow, unreadable without the secret, pruned."""

from __future__ import annotations

from datetime import timedelta

from bot.services.flow_memory import KEEP, FlowMemory
from storage.db import Database
from tests.fake_clock import FakeClock

SECRET = b"s" * 32


async def test_saved_sealed_loaded_dropped_and_pruned(db_location: str) -> None:
    clock = FakeClock()
    async with await Database.open(db_location, clock=clock) as db:
        memory = FlowMemory(db, SECRET)
        assert await memory.load(123456789) is None
        await memory.save(123456789, '{"states": {"planning": 1}}')
        assert await memory.load(123456789) == '{"states": {"planning": 1}}'
        assert await memory.load(987654321) is None
        row = await db.fetchone("SELECT person_key, sealed FROM flow_states")
        assert row is not None
        assert "123456789" not in row[0] and b"planning" not in bytes(row[1])
        # Another secret finds nothing; a tampered row opens to nothing and is dropped.
        assert await FlowMemory(db, b"t" * 32).load(123456789) is None
        await db.execute("UPDATE flow_states SET sealed = ?", (bytes(40),))
        assert await memory.load(123456789) is None
        assert await db.fetchall("SELECT * FROM flow_states") == []
        await memory.save(123456789, "{}")
        await memory.save(123456789, None)
        assert await memory.load(123456789) is None
        await memory.save(5, "{}")
        clock.advance(minutes=int((KEEP - timedelta(minutes=1)).total_seconds() // 60))
        assert await memory.prune(clock.now) == 0
        clock.advance(minutes=2)
        assert await memory.prune(clock.now) == 1
        assert await memory.load(5) is None
