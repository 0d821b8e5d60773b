"""Answers committed per second: `SessionRepo.save_step` against a naive aiosqlite loop.

    python bench/storage_bench.py [--answers 20000] [--sessions 100]

Each run uses a fresh file database in a temporary directory with the same
schema and pragmas (WAL, synchronous=NORMAL), and the same number of concurrent
sessions (asyncio tasks), each committing one answer per transaction. The naive
run awaits each statement separately (read the revision, bump it, upsert the
answer, commit) under a lock, since the statements of concurrent tasks would
otherwise interleave on the one connection. `--with-defaults` adds the naive
loop on SQLite's default journal settings, to show what WAL and
synchronous=NORMAL are worth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import AnswerRow, Database, OrgRepo, PeopleRepo, ScriptRepo, SessionRepo
from storage.times import system_clock

TODAY = date(2026, 11, 23)
PERIOD = "2026-W48"
SCRIPT = "id: bench\naudience: staff\n"


@dataclass(frozen=True)
class Result:
    name: str
    answers: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000


def state(step: int) -> str:
    """A dialog state of a realistic size, different at every step."""
    asked = [f"q{n}" for n in range(max(0, step - 8), step)]
    return json.dumps({"step": step, "asked": asked, "lang": "sl"})


async def prepare(path: Path, sessions: int) -> list[int]:
    """A migrated database with one organisation and `sessions` open staff sessions."""
    async with await Database.open(path, clock=system_clock) as db:
        org_id = await OrgRepo(db).create_org("Bench", "Europe/Ljubljana", "sl", 5)
        unit_id = await OrgRepo(db).create_unit(org_id, "Unit")
        version = await ScriptRepo(db).publish("bench", None, SCRIPT, "yaml", "Bench", None, [])
        ids = []
        for n in range(sessions):
            person = await PeopleRepo(db).get_or_create(10_000 + n, "sl")
            row = await SessionRepo(db).create(
                version.id, org_id, unit_id, "staff", person.id, None, PERIOD, state(0), TODAY
            )
            ids.append(row.id)
        return ids


async def measure(
    name: str, session_ids: list[int], per_session: int, step: Callable[[int, int], Awaitable[None]]
) -> Result:
    latencies: list[float] = []

    async def answer_all(session_id: int) -> None:
        for n in range(per_session):
            started = time.perf_counter()
            await step(session_id, n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(answer_all(sid) for sid in session_ids))
    return Result(name, len(latencies), time.perf_counter() - started, latencies)


async def bench_save_step(path: Path, sessions: int, per_session: int) -> Result:
    session_ids = await prepare(path, sessions)
    async with await Database.open(path, clock=system_clock) as db:
        repo = SessionRepo(db)

        async def step(session_id: int, n: int) -> None:
            await repo.save_step(
                session_id,
                n,
                state(n + 1),
                "active",
                TODAY,
                upsert=AnswerRow(f"q{n}", score=float(1 + n % 5), value_num=float(1 + n % 5)),
            )

        result = await measure("save_step (one hop)", session_ids, per_session, step)
        stored = await db.fetchone("SELECT count(*) FROM answers")
    assert stored is not None and stored[0] == result.answers, "answers were lost"
    return result


async def bench_naive(
    path: Path, sessions: int, per_session: int, *, sqlite_defaults: bool = False
) -> Result:
    session_ids = await prepare(path, sessions)
    pragmas = ("journal_mode = WAL", "synchronous = NORMAL")
    if sqlite_defaults:
        pragmas = ("journal_mode = DELETE", "synchronous = FULL")
    async with aiosqlite.connect(path) as conn:
        for pragma in (*pragmas, "foreign_keys = ON"):
            await conn.execute(f"PRAGMA {pragma}")
        lock = asyncio.Lock()

        async def step(session_id: int, n: int) -> None:
            async with lock:
                cursor = await conn.execute(
                    "SELECT org_id, unit_id, audience, period, script_version_id FROM sessions"
                    " WHERE id = ? AND revision = ?",
                    (session_id, n),
                )
                session = await cursor.fetchone()
                assert session is not None, "stale revision"
                await conn.execute(
                    "UPDATE sessions SET state_json = ?, revision = revision + 1, updated_on = ?"
                    " WHERE id = ?",
                    (state(n + 1), TODAY.isoformat(), session_id),
                )
                await conn.execute(
                    "INSERT INTO answers (session_id, question_id, score, value_num, answered_on,"
                    " org_id, unit_id, audience, period, script_version_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (session_id, question_id) DO UPDATE SET score = excluded.score",
                    (session_id, f"q{n}", float(1 + n % 5), float(1 + n % 5), TODAY.isoformat(),
                     *session),
                )  # fmt: skip
                await conn.commit()

        name = "naive, SQLite defaults" if sqlite_defaults else "naive (awaited statements)"
        result = await measure(name, session_ids, per_session, step)
    return result


def report(results: list[Result]) -> None:
    print(f"{'':28} {'answers':>8} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(
            f"{r.name:28} {r.answers:8d} {r.rate:10.0f} {r.percentile(50):8.2f} "
            f"{r.percentile(99):8.2f}"
        )
    print(f"save_step vs naive: {results[0].rate / results[1].rate:.1f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20_000, help="answers in total per run")
    parser.add_argument("--sessions", type=int, default=100, help="concurrent sessions")
    parser.add_argument(
        "--with-defaults",
        action="store_true",
        help="also run the naive loop with SQLite's default rollback journal and "
        "synchronous=FULL (an fsync per commit; slow, so at most 2,000 answers)",
    )
    args = parser.parse_args()
    per_session = max(1, args.answers // args.sessions)
    with tempfile.TemporaryDirectory(prefix="carecheck-bench-") as tmp:
        results = [
            await bench_save_step(Path(tmp) / "save_step.db", args.sessions, per_session),
            await bench_naive(Path(tmp) / "naive.db", args.sessions, per_session),
        ]
        if args.with_defaults:
            capped = max(1, min(per_session, 2_000 // args.sessions))
            results.append(
                await bench_naive(
                    Path(tmp) / "defaults.db", args.sessions, capped, sqlite_defaults=True
                )
            )
    print(f"{args.sessions} concurrent sessions, up to {per_session} answers each, file DBs")
    report(results)


if __name__ == "__main__":
    asyncio.run(main())
