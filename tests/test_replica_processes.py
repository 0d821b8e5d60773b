"""Three `carecheck run --webhook` processes on one database; one is SIGKILLed under load.

The in-process suite (`test_replicas_end_to_end.py`) cancels a replica; this one kills a
real process with SIGKILL, as an operating system does, and starts it again as systemd
would. Claims the dead process held keep their lease (two minutes of the machine's
clock): the test plays those minutes out by moving the lease of every claim the dead
process must have held (still working two seconds after the kill, made before it) to
its claim time, as the clock would have. Everything else is real: the command line,
the webhook server, the database file shared by three processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.times import instant_text, system_clock
from tests.crowd import Catalogue, Crowd, WebhookProcess, audit, populate
from tests.fakebotapi.server import FakeBotAPI

pytestmark = pytest.mark.slow

STAFF = 18
SERVICE_USERS = 12


def expire_dead_claims(db_path: Path, killed_at: str) -> int:
    """The two minutes of lease of the dead process's claims, played out."""
    with sqlite3.connect(db_path, timeout=10) as conn:
        return conn.execute(
            "UPDATE update_claims SET lease_until = claimed_at"
            " WHERE state = 'working' AND claimed_at <= ?",
            (killed_at,),
        ).rowcount


async def test_three_processes_one_killed_lose_and_double_nothing(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    fake_api.webhook_retry_delay = 0.2
    db_path = tmp_path / "carecheck.db"
    people = await populate(db_path, fake_api, STAFF, SERVICE_USERS, seed=5)
    replicas = [WebhookProcess(fake_api, tmp_path, i) for i in range(3)]
    for replica in replicas:
        await replica.start()
    fake_api.set_webhook_targets([r.url for r in replicas])
    crowd = Crowd(fake_api, people, Catalogue.load(), patience=4.0, think=(0.01, 0.15), seed=5)
    answering = asyncio.create_task(crowd.run())
    statuses = []
    try:
        await fake_api.wait_for(
            lambda: crowd.acknowledged >= len(people) * 2 or answering.done(), timeout=90
        )
        assert not answering.done(), "the crowd finished before the kill"
        doomed = replicas[1]
        await doomed.kill()
        killed_at = instant_text(system_clock())
        await asyncio.sleep(2.0)
        expire_dead_claims(db_path, killed_at)
        await doomed.start()  # systemd starts it again
        await asyncio.wait_for(answering, timeout=150)
    finally:
        answering.cancel()
        for replica in replicas:
            statuses.append(await replica.stop())
    assert statuses == [0, 0, 0]
    result = audit(db_path, people, crowd.catalogue)
    assert result.problems == [], result.line()
    assert result.finished == len(people)
    assert result.completed == result.sessions == len(people)
    assert result.acknowledged == result.stored > len(people) * 4
    assert result.duplicates == 0
    assert fake_api.pending_updates == []
    # While it was down, the load balancer still sent it its share: refused, redelivered.
    refused = [a for a in fake_api.webhook_attempts if a.target == doomed.url and a.status is None]
    assert refused
    with sqlite3.connect(db_path) as conn:
        working = conn.execute("SELECT count(*) FROM update_claims WHERE state <> 'done'")
        assert working.fetchone()[0] == 0
    for replica in replicas:
        log = replica.log_path.read_text(errors="replace")
        assert fake_api.token not in log and "Traceback" not in log
