"""Shared fixtures: the fake Bot API server, and the real bot against it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings

from tests.fakebotapi.server import FakeBotAPI
from tests.harness import FakeClock, Harness

pytest_plugins = ["tests.fakebotapi.fixtures", "tests.pgcluster", "tests.replica_harness"]

# Here: the same examples on every run, so a property that fails does so reproducibly.
# CI (`--hypothesis-profile=ci --hypothesis-seed=N`): new examples each run, from a seed
# it prints, so a failure there is replayed with the same seed.
settings.register_profile("carecheck", derandomize=True, database=None)
settings.register_profile("ci", derandomize=False, database=None, print_blob=True)
settings.load_profile("carecheck")


@pytest_asyncio.fixture
async def bot(
    fake_api: FakeBotAPI, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The running bot; any Bot API error it caused fails the test.

    Its database is a SQLite file, or with CARECHECK_TEST_BACKEND=postgresql a fresh
    database on the test process's PostgreSQL cluster (tests/pgcluster.py).
    """
    from tests.pgcluster import Cluster, scenario_backend  # a plugin: imported by pytest first

    cluster: Cluster | None = None
    database = None
    if scenario_backend() == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        database = cluster.new_database()
    url = None if cluster is None or database is None else cluster.url(database)
    harness = Harness(fake_api, tmp_path, FakeClock(), url)
    try:
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
    finally:
        if cluster is not None and database is not None:
            cluster.drop(database)
    fake_api.assert_no_errors()


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The command line sets up logging for its process; in a test it must not outlive it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
