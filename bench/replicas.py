"""Webhook replicas on one PostgreSQL: throughput by replica count, then SIGKILLs under load.

    python bench/replicas.py [--people 500] [--replicas 1,2,3] [--kills 8] [--kill-every 3]
                             [--restart-after 0.5] [--seed 7] [--logs DIR] [--quick]

A throwaway PostgreSQL cluster (tests/pgcluster.py) and the fake Bot API run here; the
bot runs as real `carecheck run --webhook` processes, each on its own port, all on one
database, the fake delivering the updates round-robin with Telegram's redelivery
(tests/fakebotapi/webhook_delivery.py), as a load balancer would. The simulated staff
are tests/crowd.py's: each answers the weekly check-in (the staff pulse) through
/checkin, taps an option, types the follow-up comment a low score opens, and tries
again after a silence. Each configuration gets a fresh database and fresh people.

Per replica count:
* answers/s: answers acknowledged over the wall time from the first input to the last
  person done;
* latency: from an input (press or typed answer) queued at the fake to the bot's
  reaction (the next question shown) arriving there;
* CPU ms/answer: the replicas' user+system CPU (``/proc/<pid>/stat``) over the run.

Then 3 replicas (the largest count given) with the scheduler running, the
organisation's weekly pulse due: under the same load one replica at random is
SIGKILLed every ``--kill-every`` seconds, ``--kills`` times, and started again
``--restart-after`` seconds later, as systemd would. An update a killed replica had
claimed waits out its lease (two minutes) before another replica applies it, and that
person's later updates wait behind it (Telegram keeps a chat in order), so the phase
lasts at least that long after the first kill. Printed: answers acknowledged against stored,
duplicates (a second row for one person's question, or a second session), sessions
completed, and check-in invitations sent twice to one person (must be 0). Nothing
here asserts a speed; the exit status is 1 only if the kill phase lost or doubled
anything.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot_load import percentile, proc_cpu  # noqa: E402 - bench/ is sys.path[0]

from bot.infra.i18n import translator  # noqa: E402
from bot.telegram.screens import checkin_invitation  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.orgs import OrgRepo  # noqa: E402
from storage.times import system_clock  # noqa: E402
from tests.crowd import Audit, Catalogue, Crowd, Person, WebhookProcess, audit, populate  # noqa: E402
from tests.fakebotapi.server import FakeBotAPI  # noqa: E402
from tests.pgcluster import Cluster, throwaway_cluster  # noqa: E402

INVITATION = checkin_invitation(translator("en"), False).text


@dataclass
class TimedCrowd(Crowd):
    """The crowd, timing each input to the bot's reaction (a silence is not timed)."""

    latencies: list[float] = field(default_factory=list)

    async def _wait(self, person: Person, before: tuple[Any, ...], answered: Any) -> None:
        started = time.monotonic()
        await super()._wait(person, before, answered)
        took = time.monotonic() - started
        if took < self.patience:
            self.latencies.append(took)


@dataclass
class Outcome:
    replicas: int
    seconds: float
    cpu: float  # the replicas' CPU seconds; not measured across kills
    driver: float  # this process's CPU seconds: the fake Bot API and the people
    latencies: list[float]
    result: Audit
    invitations: Counter[int]  # person index -> invitations received
    kills: int = 0
    stuck: str = ""

    @property
    def rate(self) -> float:
        return self.result.acknowledged / max(self.seconds, 1e-9)

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(self.result.acknowledged, 1)

    @property
    def intact(self) -> bool:
        r = self.result
        return (
            not self.stuck
            and not r.problems
            and r.acknowledged == r.stored
            and r.duplicates == 0
            and r.completed == r.sessions == r.people
            and all(n == 1 for n in self.invitations.values())
        )


async def pulse_due_now(url: str) -> None:
    """Make this week's pulse of every organisation due at this hour, so the jobs send it."""
    now = datetime.now(UTC)
    db = await Database.open(url, clock=system_clock)
    try:
        orgs = OrgRepo(db)
        for org in await orgs.list_orgs():
            await orgs.update_settings(
                org.id, timezone="UTC", checkin_weekday=now.weekday(), checkin_hour=now.hour
            )
    finally:
        await db.close()


async def run_configuration(
    cluster: Cluster,
    catalogue: Catalogue,
    args: argparse.Namespace,
    count: int,
    kills: int = 0,
) -> Outcome:
    api = FakeBotAPI()
    await api.start()
    api.webhook_retry_delay = 0.2
    url = cluster.url(cluster.new_database())
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(args.logs or folder) / f"{count}{'-kills' if kills else ''}"
        directory.mkdir(parents=True, exist_ok=True)
        people = await populate(url, api, args.people, 0, args.seed)
        if kills:
            await pulse_due_now(url)
        replicas = [WebhookProcess(api, directory, i, url, jobs=kills > 0) for i in range(count)]
        crowd = TimedCrowd(
            api,
            people,
            catalogue,
            # Long enough that retries stay below what the replicas apply: after a lease
            # stall, 500 people tapping again every 4 s overload them (tried).
            patience=args.patience if kills else 30.0,
            seed=args.seed,
        )
        killed, stuck = 0, ""
        try:
            for replica in replicas:
                await replica.start()
            api.set_webhook_targets([r.url for r in replicas])
            cpu = sum(proc_cpu(r.process.pid) for r in replicas if r.process)
            driver, started = time.process_time(), time.monotonic()
            answering = asyncio.create_task(crowd.run())
            while killed < kills and not answering.done():
                await asyncio.wait([answering], timeout=args.kill_every)
                if answering.done():
                    break
                victim = rng.choice(replicas)
                await victim.kill()
                killed += 1
                await asyncio.sleep(args.restart_after)
                await victim.start()
            try:
                await asyncio.wait_for(answering, timeout=args.timeout)
            except (AssertionError, TimeoutError) as error:
                stuck = str(error)[:300] or "timed out"
            seconds = time.monotonic() - started
            cpu = sum(proc_cpu(r.process.pid) for r in replicas if r.process) - cpu
            driver = time.process_time() - driver
            if kills:
                await asyncio.sleep(2.0)  # invitations still on their way
        finally:
            for replica in replicas:
                await replica.stop()
            await api.stop()
    invitations = Counter(
        {
            p.index: sum(m.text == INVITATION for m in api.messages(p.user.id))
            for p in people
            if any(m.text == INVITATION for m in api.messages(p.user.id))
        }
    )
    result = audit(url, people, catalogue)
    return Outcome(count, seconds, cpu, driver, crowd.latencies, result, invitations, killed, stuck)


HEADER = (
    f"{'replicas':>8} {'answers':>7} {'stored':>6} {'s':>6} {'answers/s':>9} "
    f"{'p50 ms':>7} {'p99 ms':>7} {'CPU ms/ans':>10} {'bots':>5} {'this':>5}"
)


def throughput_row(o: Outcome) -> str:
    """One configuration; `bots` and `this` are the replicas' and this process's CPU share."""
    return (
        f"{o.replicas:>8} {o.result.acknowledged:>7} {o.result.stored:>6} {o.seconds:>6.1f} "
        f"{o.rate:>9.1f} {percentile(o.latencies, 50):>7.0f} "
        f"{percentile(o.latencies, 99):>7.0f} {o.cpu_ms:>10.2f} "
        f"{o.cpu / o.seconds:>5.0%} {o.driver / o.seconds:>5.0%}"
        + (f"  STUCK: {o.stuck}" if o.stuck else "")
    )


def print_kills(o: Outcome, args: argparse.Namespace) -> None:
    r = o.result
    twice = sum(1 for n in o.invitations.values() if n > 1)
    print(
        f"{o.replicas} replicas, one SIGKILLed every {args.kill_every:g} s and back after "
        f"{args.restart_after:g} s: {o.seconds:.1f} s"
    )
    print(f"  replicas killed       {o.kills}")
    print(f"  answers acknowledged  {r.acknowledged}")
    print(f"  answers stored        {r.stored}")
    print(f"  duplicates            {r.duplicates}")
    print(f"  sessions completed    {r.completed}/{r.sessions} (people {args.people})")
    print(f"  people finished       {r.finished}/{r.people}")
    print(f"  invitations sent      {sum(o.invitations.values())} to {len(o.invitations)} people")
    print(f"  invitations twice     {twice}")
    print(f"  answers/s             {o.rate:.1f}")
    if o.stuck:
        print(f"  stuck: {o.stuck}")
    for problem in r.problems[:20]:
        print(f"  problem: {problem}")


async def bench(args: argparse.Namespace) -> bool:
    counts = [int(c) for c in args.replicas.split(",") if c]
    catalogue = Catalogue.load()
    with throwaway_cluster() as cluster:
        print(f"{args.people} staff answering their check-in; PostgreSQL, webhook replicas")
        if not args.no_throughput:
            print(HEADER)
        outcomes = []
        for count in [] if args.no_throughput else counts:
            outcomes.append(await run_configuration(cluster, catalogue, args, count, 0))
            print(throughput_row(outcomes[-1]), flush=True)
        if args.kills <= 0:
            return all(o.intact for o in outcomes)
        crashed = await run_configuration(cluster, catalogue, args, max(counts), args.kills)
        print_kills(crashed, args)
        return crashed.intact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--replicas", default="1,2,3", help="replica counts, comma-separated")
    parser.add_argument("--kills", type=int, default=8, help="SIGKILLs; 0: no kill phase")
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills")
    parser.add_argument("--restart-after", type=float, default=0.5)
    parser.add_argument("--patience", type=float, default=15.0, help="seconds before a retry")
    parser.add_argument("--no-throughput", action="store_true", help="only the kill phase")
    parser.add_argument("--timeout", type=float, default=400.0, help="per configuration")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", help="keep the replicas' logs in this folder")
    parser.add_argument("--quick", action="store_true", help="60 people, 1 and 3 replicas, 4 kills")
    args = parser.parse_args()
    if args.quick:
        args.people, args.replicas, args.kills = 60, "1,3", 4
    ok = asyncio.run(bench(args))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
