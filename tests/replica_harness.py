"""Webhook replicas of the real bot in one test process, each with its own Database handle.

Several Applications on one SQLite file are a real multi-replica setup: their writes
meet in the file (`BEGIN IMMEDIATE`, busy timeout), not in shared Python objects. The
fake Bot API is told where the public URL leads (`set_webhook_targets`), like a load
balancer with these replicas behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.runtime import open_runtime
from bot.telegram.app import Webhook, build_application, serve
from bot.telegram.context import CarecheckApp
from storage.db import Database
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness
from tests.pgcluster import scenario_backend

PUBLIC_URL = "https://bot.example.org/carecheck/hook"
SECRET = "replica-secret_1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Replica(Harness):
    """One `carecheck run --webhook` in this process: its own runtime, database and port.

    The people, invitations and presses of `Harness` work the same; the fake delivers
    their updates to whichever replica the test's targets say.
    """

    def __init__(
        self,
        api: FakeBotAPI,
        directory: Path,
        clock: FakeClock,
        database: str | None = None,
        *,
        run_jobs: bool = False,
    ) -> None:
        super().__init__(api, directory, clock, database)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/carecheck/hook"
        self.run_jobs = run_jobs
        self.app: CarecheckApp | None = None  # type: ignore[assignment]

    async def start(self) -> None:
        self._runtime_cm = open_runtime(self.settings, self.clock)
        self.runtime = await self._runtime_cm.__aenter__()
        self.app = build_application(self.runtime, run_jobs=self.run_jobs)
        self._stop = asyncio.Event()
        sets = len(self.api.calls_to("setWebhook"))
        hook = Webhook(PUBLIC_URL, "127.0.0.1", self.port, SECRET)
        self._task = asyncio.create_task(serve(self.app, self._stop, hook))
        await self.api.wait_for(lambda: len(self.api.calls_to("setWebhook")) > sets, timeout=20)

    async def stop(self) -> None:
        """A clean stop: the updates in flight finish."""
        if self._task is not None and self._stop is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, timeout=30)
            self._task = None
        await self._close_runtime()

    async def crash(self) -> int:
        """As close to a SIGKILL as one process allows: sockets cut, work abandoned.

        The listening socket and every open connection are aborted (the fake sees a
        dropped connection, no answer), the serving task is cancelled mid-update, and
        nothing is marked done. What the database thread already committed stays.
        Returns how many updates were being applied when it died.
        """
        assert self.app is not None and self._task is not None
        server = self.app.bot_data.webhook
        runner = server.runner if server is not None else None
        cut = server.in_flight if server is not None else 0
        if runner is not None:
            for site in list(runner.sites):
                if site._server is not None:
                    site._server.close()  # stop listening, at once
            low = runner.server
            for handler in list(getattr(low, "connections", [])) if low else []:
                task = getattr(handler, "_task_handler", None)
                transport = handler.transport
                if transport is not None:
                    transport.abort()
                if task is not None:
                    task.cancel()  # the update's processing, wherever it was
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None
        # The dead process's objects: released only so this test process stays clean.
        with contextlib.suppress(Exception):
            await self.app.stop()
        with contextlib.suppress(Exception):
            await self.app.shutdown()
        await self._close_runtime()
        self.app = self.runtime = None  # gone, as a killed process is
        return cut

    async def _close_runtime(self) -> None:
        if self._runtime_cm is not None:
            await self._runtime_cm.__aexit__(None, None, None)
            self._runtime_cm = None


@contextlib.asynccontextmanager
async def running(
    api: FakeBotAPI,
    directory: Path,
    clock: FakeClock,
    count: int = 2,
    database: str | None = None,
) -> AsyncIterator[list[Replica]]:
    """`count` replicas on one database (a SQLite file in `directory`, or `database`'s
    PostgreSQL URL), behind the fake's round-robin delivery."""
    replicas = [Replica(api, directory, clock, database) for _ in range(count)]
    try:
        for replica in replicas:
            await replica.start()
        api.set_webhook_targets([r.url for r in replicas])
        yield replicas
    finally:
        for replica in replicas:
            await replica.stop()


@contextlib.asynccontextmanager
async def two_handles(location: str, clock: FakeClock) -> AsyncIterator[tuple[Database, Database]]:
    """Two Database handles on one database (file or URL), as two replicas have."""
    async with (
        await Database.open(location, clock=clock) as one,
        await Database.open(location, clock=clock) as two,
    ):
        yield one, two


@pytest.fixture
def shared_database(request: pytest.FixtureRequest) -> str | None:
    """The replicas' one database: a SQLite file (None), or with
    CARECHECK_TEST_BACKEND=postgresql a fresh database on the test PostgreSQL cluster."""
    if scenario_backend() != "postgresql":
        return None
    return str(request.getfixturevalue("pg_url"))
