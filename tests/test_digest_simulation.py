"""Numbers you can trust, shown by simulation: intervals cover, changes are real ones.

`bench/digest_stats.py` runs the same simulation over more teams and prints the rates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.runtime import Runtime, open_runtime
from tests.digest_simulation import simulate
from tests.fake_clock import FakeClock

CLOCK = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


@pytest.mark.slow
async def test_intervals_cover_and_changes_are_called_only_when_real(runtime: Runtime) -> None:
    rates = await simulate(runtime.db, runtime.scripts, runtime.frameworks, teams=60, seed=2026)
    assert rates.intervals >= 600 and rates.steady >= 250 and rates.moved >= 100
    assert rates.coverage >= 0.85, rates.misses[:10]
    assert rates.false_rate <= 0.10
    assert rates.power >= 0.80
