"""Fault bench: many people answer through 10% 429s, 5% 502s and 2% dropped connections.

The long variant of tests/test_faults.py. The fake Bot API runs in this process and
injects the faults into every call; the bot (`carecheck run`) runs in its own. At
the end every person has finished, every acknowledged answer is stored once, and
every injected fault was retried by the bot or shown to the person.

    python bench/faults.py [--staff 60] [--service-users 40] [--seed 11]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    audit,
    populate,
    record_faults,
    unhandled,
)
from tests.fakebotapi.server import FakeBotAPI  # noqa: E402


async def run(staff: int, service_users: int, seed: int) -> bool:
    api = FakeBotAPI(seed=seed)
    await api.start()
    with tempfile.TemporaryDirectory() as directory:
        people = await populate(Path(directory) / "carecheck.db", api, staff, service_users, seed)
        catalogue = Catalogue.load()
        bot = BotProcess(api, Path(directory))
        await bot.start()
        faults = record_faults(api)
        api.set_fault_rates(rate_limit=0.10, bad_gateway=0.05, drop=0.02, retry_after=1)
        started = time.monotonic()
        crowd = Crowd(api, people, catalogue, patience=10.0, think=(0.05, 0.5), seed=seed)
        try:
            await asyncio.wait_for(crowd.run(), 3600)
            elapsed = time.monotonic() - started
            api.faults.clear()
            with contextlib.suppress(TimeoutError):
                await api.wait_for(lambda: not unhandled(api, faults), timeout=30)
            left = unhandled(api, faults)
        finally:
            await bot.stop()
            await api.stop()
        result = audit(bot.db_path, people, catalogue)
        kinds = Counter(f.kind for f in faults)
        by_method = Counter(f.call.method for f in faults)
        print(
            f"fault bench: {len(people)} people ({staff} staff, {service_users} service users), "
            f"{elapsed:.1f} s, {len(api.calls)} Bot API calls"
        )
        print(f"  answers acknowledged  {result.acknowledged}")
        print(f"  answers stored        {result.stored}")
        print(f"  duplicates            {result.duplicates}")
        print(f"  sessions completed    {result.completed}/{result.sessions}")
        print(f"  people finished       {result.finished}/{result.people}")
        print(
            f"  faults injected       {len(faults)}: 429 {kinds['429']}, 502 {kinds['502']}, "
            f"dropped {kinds['drop']}"
        )
        print(f"  faults by method      {dict(by_method.most_common())}")
        print(f"  retried or shown      {len(faults) - len(left)}; neither {len(left)}")
        print(f"  inputs by people      {sum(p.inputs for p in people)}")
        print(f"  Bot API errors        {len(api.errors)}")
        for (method, description), count in Counter(api.errors).most_common(10):
            print(f"  Bot API error: {count} x {method}: {description}")
        for problem in result.problems[:20]:
            print(f"  problem: {problem}")
        for fault in left[:20]:
            print(f"  unhandled: {fault.kind} on {fault.call.method}")
        return (
            not result.problems
            and not left
            and result.acknowledged == result.stored
            and result.duplicates == 0
            and result.completed == result.sessions == len(people)
            and not api.errors
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--staff", type=int, default=60)
    parser.add_argument("--service-users", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    ok = asyncio.run(run(args.staff, args.service_users, args.seed))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
