"""Crash bench: many people answer while the bot process is SIGKILLed again and again.

The long variant of tests/test_crash.py. The fake Bot API runs in this process, the
bot (`carecheck run`) in its own; it is killed at random moments spread over the
run and started again each time. At the end every acknowledged answer (the person
saw the next question) must be stored exactly once and every session completed.

    python bench/crash.py [--staff 180] [--service-users 120] [--kills 20] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crowd import (  # noqa: E402
    BotProcess,
    Catalogue,
    Crowd,
    answer_through_kills,
    audit,
    populate,
)
from tests.fakebotapi.server import FakeBotAPI  # noqa: E402


async def run(staff: int, service_users: int, kills: int, seed: int) -> bool:
    api = FakeBotAPI()
    await api.start()
    with tempfile.TemporaryDirectory() as directory:
        people = await populate(Path(directory) / "carecheck.db", api, staff, service_users, seed)
        catalogue = Catalogue.load()
        bot = BotProcess(api, Path(directory))
        crowd = Crowd(api, people, catalogue, patience=4.0, think=(0.05, 0.6), seed=seed)
        started = time.monotonic()
        try:
            await answer_through_kills(
                bot,
                crowd,
                kills=kills,
                seed=seed,
                spread=(0.02, 0.9),
                delay=0.3,
                progress_timeout=600,
                finish_timeout=1200,
            )
        finally:
            await api.stop()
        elapsed = time.monotonic() - started
        result = audit(bot.db_path, people, catalogue)
        print(
            f"crash bench: {len(people)} people ({staff} staff, {service_users} service users), "
            f"{elapsed:.1f} s"
        )
        print(f"  answers acknowledged  {result.acknowledged}")
        print(f"  answers stored        {result.stored}")
        print(f"  duplicates            {result.duplicates}")
        print(f"  sessions completed    {result.completed}/{result.sessions}")
        print(f"  people finished       {result.finished}/{result.people}")
        print(f"  faults injected       {bot.kills} SIGKILLs ({bot.starts} starts)")
        print(f"  inputs by people      {sum(p.inputs for p in people)}")
        repeated, errors = bot.deliveries.errors()
        again = bot.deliveries.redelivered
        print(f"  updates handed again  {again} (the bot died before confirming them)")
        print(f"  Bot API errors        {len(errors)} (+{len(repeated)} from updates handed again)")
        for line, count in Counter(errors + repeated).most_common(10):
            print(f"  Bot API error: {count} x {line}")
        for problem in result.problems[:20]:
            print(f"  problem: {problem}")
        return (
            not result.problems
            and result.acknowledged == result.stored
            and result.duplicates == 0
            and result.completed == result.sessions == len(people)
            and not errors
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--staff", type=int, default=180)
    parser.add_argument("--service-users", type=int, default=120)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ok = asyncio.run(run(args.staff, args.service_users, args.kills, args.seed))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
