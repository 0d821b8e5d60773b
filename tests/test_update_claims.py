"""The update ledger in the database: claimed once, done, busy, taken over, pruned."""

from __future__ import annotations

from datetime import timedelta

from bot.services.update_ledger import KEEP, LEASE, UpdateLedger
from tests.fake_clock import FakeClock
from tests.replica_harness import two_handles


async def test_two_handles_share_one_ledger(db_location: str) -> None:
    clock = FakeClock()
    async with two_handles(db_location, clock) as (one, two):
        a, b = UpdateLedger(one), UpdateLedger(two)
        assert await a.begin(7) == "apply"
        assert await b.begin(7) == "busy"  # a is at it
        await a.finished(7)
        assert await b.begin(7) == "done"  # a redelivery: acknowledged, not applied

        assert await a.begin(8) == "apply"
        await a.failed(8)  # a handler failed: the redelivery is applied again
        assert await b.begin(8) == "apply"
        clock.advance(seconds=LEASE.total_seconds() - 1)
        assert await a.begin(8) == "busy"
        clock.advance(seconds=1)  # b died holding it: its lease is over
        assert await a.begin(8) == "apply"
        await a.finished(8)
        assert await b.begin(8) == "done"

        clock.advance(seconds=(KEEP + timedelta(minutes=5)).total_seconds())
        assert await a.begin(9) == "apply"
        assert await b.prune(clock()) == 2  # 7 and 8 are older than KEEP; 9 is kept
        assert await b.begin(9) == "busy"
