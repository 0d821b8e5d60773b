"""Three webhook replicas on one database behind round-robin delivery; one dies mid-load.

People answer check-ins and feedback through the fake Bot API, which posts each update
to the next replica and redelivers what was not acknowledged. All three run the
scheduled jobs at the same moments. One replica is crashed mid-load: its sockets cut,
its serving task cancelled in the middle of whatever it was doing, its database handle
closed. After that the load balancer still sends it its share (refused connections,
redelivered to the others), and updates it had claimed are taken over once their lease
is over. At the end every acknowledged answer is stored exactly once, every session is
finished, and every invitation went out once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bot.infra.i18n import translator
from bot.services.update_ledger import LEASE
from tests.crowd import Catalogue, Crowd, audit, populate
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI
from tests.replica_harness import running

pytestmark = pytest.mark.slow

STAFF = 24
SERVICE_USERS = 16
READY = translator("en")("Your weekly check-in is ready. It takes about a minute.")


async def test_three_replicas_one_crashed_lose_and_double_nothing(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    fake_api.webhook_retry_delay = 0.2
    fake_api.webhook_timeout = 5.0
    people = await populate(tmp_path / "carecheck.db", fake_api, STAFF, SERVICE_USERS, seed=3)
    clock = FakeClock()  # a Monday after the organisations' check-in hour
    crowd = Crowd(fake_api, people, Catalogue.load(), patience=4.0, think=(0.01, 0.15), seed=3)
    async with running(fake_api, tmp_path, clock, count=3) as replicas:

        async def every_replica_runs_the_jobs() -> None:
            schedulers = [r.app.bot_data.scheduler for r in replicas if r.app is not None]
            await asyncio.gather(*(s.run_due() for s in schedulers if s is not None))

        await every_replica_runs_the_jobs()
        answering = asyncio.create_task(crowd.run())
        try:
            await fake_api.wait_for(
                lambda: crowd.acknowledged >= len(people) * 2 or answering.done(), timeout=60
            )
            assert not answering.done(), "the crowd finished before the crash"
            doomed = replicas[1]

            def busy() -> bool:
                server = doomed.app.bot_data.webhook if doomed.app else None
                return server is not None and server.in_flight > 0

            await fake_api.wait_for(busy, timeout=30)
            assert await doomed.crash() > 0  # it died in the middle of applying updates
            await every_replica_runs_the_jobs()  # the survivors' next tick
            await asyncio.sleep(0.5)
            clock.advance(seconds=LEASE.total_seconds())  # the dead replica's claims expire
            await every_replica_runs_the_jobs()
            await asyncio.wait_for(answering, timeout=120)
        finally:
            answering.cancel()

    result = audit(tmp_path / "carecheck.db", people, crowd.catalogue)
    assert result.problems == [], result.line()
    assert result.finished == len(people)
    assert result.completed == result.sessions == len(people)
    assert result.acknowledged == result.stored > len(people) * 4
    assert result.duplicates == 0
    # The load balancer kept sending the dead replica its share: refused, redelivered.
    refused = [a for a in fake_api.webhook_attempts if a.target == doomed.url and a.status is None]
    assert refused, "nothing was sent to the crashed replica after the crash"
    # Every update was acknowledged once it was applied, none lost; the claims the dead
    # replica held were taken over and finished.
    assert fake_api.pending_updates == []
    with sqlite3.connect(tmp_path / "carecheck.db") as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM update_claims GROUP BY state"))
    assert set(states) == {"done"} and states["done"] == len(fake_api.acknowledged)
    # Scheduled messages: each staff member's invitation once, whoever ran the job.
    for person in people:
        if person.audience == "staff":
            texts = Counter(m.source for m in fake_api.messages(person.user.id))
            assert texts[READY] == 1, (person.index, texts)
