"""Shared fixtures: the fake Bot API server, and the real bot against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from hypothesis import settings

from tests.fakebotapi.server import FakeBotAPI
from tests.harness import FakeClock, Harness

pytest_plugins = ["tests.fakebotapi.fixtures"]

# The same examples on every machine and run: CI checks exactly what passed here, and
# a property that fails does so reproducibly, never by the luck of a fresh database.
settings.register_profile("carecheck", derandomize=True, database=None)
settings.load_profile("carecheck")


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Harness]:
    """The running bot; any Bot API error it caused fails the test."""
    harness = Harness(fake_api, tmp_path, FakeClock())
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
    fake_api.assert_no_errors()
