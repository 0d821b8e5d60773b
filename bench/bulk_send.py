"""How long the weekly pulse takes to reach N staff, and whether it draws any 429.

The fake Bot API enforces Telegram's flood limits (about 30 messages/s
overall), so a bot that sends too fast is told to wait; the figure to watch is
the time for N invitations with zero 429s. Usage: python bench/bulk_send.py [--staff 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.invites import InviteRepo
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import FakeClock, Harness

MONDAY_0800_UTC = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def run(staff: int) -> None:
    api = FakeBotAPI()
    await api.start()
    with tempfile.TemporaryDirectory() as directory:
        harness = Harness(api, Path(directory), FakeClock(MONDAY_0800_UTC))
        await harness.start()
        try:
            db = harness.rt.db
            org = await OrgRepo(db).create_org("Bench")
            people = PeopleRepo(db)
            for i in range(staff):
                user = api.new_user(f"S{i}")
                api.add_private_chat(user)
                person = await people.get_or_create(user.id, "en")
                await people.add_membership(person.id, org, None, "staff")
            await InviteRepo(db).create(org, None, "staff", None, None, None)
            api.enforce_rate_limits()
            assert harness.app is not None
            scheduler = harness.app.bot_data["carecheck.scheduler"]
            started = time.perf_counter()
            report = await scheduler.run_due(MONDAY_0800_UTC)
            elapsed = time.perf_counter() - started
        finally:
            await harness.stop()
    await api.stop()
    print(f"invitations sent     {report.pulses}")
    print(f"failed               {report.failed}")
    print(f"seconds              {elapsed:.1f}")
    print(f"messages per second  {report.pulses / elapsed:.1f}")
    print(f"429s drawn           {len(api.rate_limited)}")
    print(f"Bot API errors       {len(api.errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--staff", type=int, default=1000)
    asyncio.run(run(parser.parse_args().staff))


if __name__ == "__main__":
    main()
