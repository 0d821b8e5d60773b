"""How often the digest's numbers tell the truth, over many synthetic teams.

    python bench/digest_stats.py [--teams 300] [--seeds 3]

The simulation of `tests/digest_simulation.py`, through the real storage and digest
code, over more teams: steady teams (nothing changes) and moving teams (the true mean
moves by 0.5 between windows), 5 to 40 people each, six 8-week windows. Prints, per
seed and over all: how often the 90% interval covered the true mean, how often a
steady team was called changed, and how often a 0.5 move was seen with 15 or more
respondents in both windows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.script_registry import ScriptRegistry
from frameworks import default_frameworks
from storage.db import Database
from tests.digest_simulation import Rates, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=300, help="steady and moving, each")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.teams, args.seeds))


async def run(teams: int, seeds: int) -> None:
    frameworks = default_frameworks()
    total = Rates()
    for seed in range(1, seeds + 1):
        with tempfile.TemporaryDirectory() as folder:
            db = await Database.open(
                Path(folder) / "sim.db", clock=lambda: datetime(2026, 6, 1, tzinfo=UTC)
            )
            scripts = ScriptRegistry(db, frameworks)
            await scripts.ensure_shipped()
            started = time.perf_counter()
            rates = await simulate(db, scripts, frameworks, teams, seed)
            await db.close()
        print(f"seed {seed}: {_line(rates)}  ({time.perf_counter() - started:.0f} s)")
        for name in ("intervals", "covered", "steady", "false_changes", "moved", "detected"):
            setattr(total, name, getattr(total, name) + getattr(rates, name))
    print(f"all:    {_line(total)}")
    print("targets: coverage >= 85 %, false changes <= 10 %, power >= 80 %")


def _line(rates: Rates) -> str:
    return (
        f"coverage {rates.coverage:6.1%} of {rates.intervals:,} intervals · "
        f"false changes {rates.false_rate:5.1%} of {rates.steady:,} · "
        f"power {rates.power:5.1%} of {rates.moved:,}"
    )


if __name__ == "__main__":
    main()
