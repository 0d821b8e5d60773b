"""Digest speed on 1,000,000 answers across 200 organisations.

    python bench/digest.py [--orgs 200] [--answers 1000000] [--weeks 26] [--runs 20]

A fresh file database (WAL, as in production) gets the shipped scripts, then
the organisations with three units and 40 staff each, then the answers: staff
check-ins of five questions and service-user feedback of seven, over `--weeks`
weeks, written with executemany in one transaction per phase. Phase one fills
the first tenth of the organisations (100,000 answers), phase two the rest, so
organisation 1's digest is timed on the same data inside a small and a large
database: the time should stay flat because every query is an index range on
(org_id, audience, answered_on). A digest reads its 8-week window, the window
before and the trend of 12 windows with its half-year and year comparisons.
Each bulk phase ends with a WAL checkpoint: a read must
search every frame of an unchecked write-ahead log, and one 900,000-row
transaction leaves a long one, which a running bot (small transactions,
SQLite's automatic checkpoints) never has. Digest times are medians over
`--runs`; "with the Telegram text" adds rendering the message (charts are
timed separately).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.digests.digest_chart import render_chart
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_render import telegram_messages
from bot.services.periods import iso_week
from bot.services.script_registry import ScriptRegistry
from frameworks import Frameworks, default_frameworks
from storage.connection import Connection
from storage.db import Database
from storage.reports import FEEDBACK_STATS, STAFF_VALUES

LAST_MONDAY = date(2026, 11, 16)  # the digest reports this week, 2026-W47
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STAFF = 40
UNITS = 3
STAFF_SHARE = 0.4  # of each week's answers; the rest are service users'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, Path(folder) / "bench.db"))


async def run(args: argparse.Namespace, path: Path) -> None:
    db = await Database.open(path, clock=lambda: NOW)
    frameworks = default_frameworks()
    scripts = ScriptRegistry(db, frameworks)
    await scripts.ensure_shipped()
    staff = await scripts.active("staff-pulse", None)
    users = await scripts.active("service-user", None)
    assert staff.version is not None and users.version is not None  # stored, not drafts
    staff_questions = [q.id for q in staff.script.questions() if q.type == "scale"]
    user_questions = [q.id for q in users.script.questions()]
    per_org = args.answers // args.orgs
    first = max(1, args.orgs // 10)

    await db.run(lambda conn: _organisations(conn, args.orgs))
    plan = _Plan(
        staff.version.id, users.version.id, staff_questions, user_questions, per_org, args.weeks
    )
    started = time.perf_counter()
    small = await db.run(lambda conn: plan.insert(conn, range(1, first + 1)))
    await db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    inserted = time.perf_counter() - started
    one_small = await _median(args.runs, lambda: compute_digest(db, frameworks, 1, now=NOW))
    started = time.perf_counter()
    large = small + await db.run(lambda conn: plan.insert(conn, range(first + 1, args.orgs + 1)))
    await db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    inserted += time.perf_counter() - started
    one_large = await _median(args.runs, lambda: compute_digest(db, frameworks, 1, now=NOW))
    with_text = await _median(args.runs, lambda: _digest_and_text(db, frameworks, 1))
    unit = await _median(args.runs, lambda: compute_digest(db, frameworks, 1, 1, now=NOW))

    started = time.perf_counter()
    for org_id in range(1, args.orgs + 1):
        await _digest_and_text(db, frameworks, org_id)
    every = time.perf_counter() - started

    digest = await compute_digest(db, frameworks, 1, now=NOW)
    chart_times = []
    for _ in range(5):
        started = time.perf_counter()
        png = render_chart(digest, frameworks, "en")
        chart_times.append(time.perf_counter() - started)
    plan_rows = await db.run(_query_plan)
    await db.close()

    print(f"answers: {large:,} in {args.orgs} organisations ({per_org:,} each, {args.weeks} weeks)")
    print(f"  inserted in {inserted:.1f} s (executemany, one transaction per phase)")
    print(f"one digest, numbers only (org 1):      {_ms(one_large)}")
    print(f"one unit's digest, numbers only:       {_ms(unit)}")
    print(f"one digest with the Telegram text:     {_ms(with_text)}   target <= 50 ms")
    print(f"all {args.orgs} digests with the Telegram text: {every:.2f} s   target <= 5 s")
    print(
        f"chart render (PNG, {len(png) // 1024} KiB):         {_ms(statistics.median(chart_times))}"
    )
    print(f"org 1 digest at {small:>9,} answers in all: {_ms(one_small)}")
    print(
        f"org 1 digest at {large:>9,} answers in all: {_ms(one_large)}"
        f"   x{one_large / one_small:.2f}"
    )
    print("query plans of the window reads:")
    for row in plan_rows:
        print(f"  {row}")


class _Plan:
    """Synthetic answers: the same for an organisation whichever phase writes it."""

    def __init__(
        self,
        staff_version: int,
        user_version: int,
        staff_questions: list[str],
        user_questions: list[str],
        per_org: int,
        weeks: int,
    ) -> None:
        self.staff_version = staff_version
        self.user_version = user_version
        self.staff_questions = staff_questions
        self.user_questions = user_questions
        self.per_org = per_org
        self.weeks = weeks

    def insert(self, conn: Connection, orgs: range) -> int:
        session_id = conn.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0]
        count = 0
        for org_id in orgs:
            sessions: list[tuple[Any, ...]] = []
            answers: list[tuple[Any, ...]] = []
            rng = random.Random(org_id)
            lean = {q: rng.uniform(2.6, 4.4) for q in self.staff_questions + self.user_questions}
            for week in range(self.weeks):
                monday = LAST_MONDAY - timedelta(weeks=self.weeks - 1 - week)
                period = iso_week(monday)
                per_week = (
                    self.per_org * (week + 1) // self.weeks - self.per_org * week // self.weeks
                )
                staff_answers = int(per_week * STAFF_SHARE)
                people = list(range(STAFF))
                rng.shuffle(people)
                done = 0
                while done < per_week:
                    session_id += 1
                    is_staff = done < staff_answers and people
                    unit = rng.randrange(UNITS)
                    day = (monday + timedelta(days=rng.randrange(7))).isoformat()
                    if is_staff:
                        person = (org_id - 1) * STAFF + people.pop() + 1
                        unit = (person - 1) % UNITS
                        start = rng.randrange(len(self.staff_questions))
                        asked = [
                            self.staff_questions[(start + j) % len(self.staff_questions)]
                            for j in range(5)
                        ]
                        version, audience = self.staff_version, "staff"
                    else:
                        person = None
                        asked = self.user_questions
                        version, audience = self.user_version, "service_user"
                    unit_id = (org_id - 1) * UNITS + unit + 1
                    sessions.append(
                        (session_id, version, org_id, unit_id, audience, person, period,
                         day, day, day)
                    )  # fmt: skip
                    for question in asked[: per_week - done]:
                        score = min(5.0, max(1.0, round(rng.gauss(lean[question], 0.9))))
                        comment = "A comment." if rng.random() < 0.03 else None
                        answers.append(
                            (session_id, question, score, score, comment, day, org_id, unit_id,
                             audience, period, version)
                        )  # fmt: skip
                        done += 1
            conn.executemany(
                "INSERT INTO sessions (id, script_version_id, org_id, unit_id, audience,"
                " person_id, period, status, started_on, updated_on, completed_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)",
                sessions,
            )
            conn.executemany(
                "INSERT INTO answers (session_id, question_id, score, value_num, comment,"
                " answered_on, org_id, unit_id, audience, period, script_version_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                answers,
            )
            count += len(answers)
        return count


def _organisations(conn: Connection, orgs: int) -> None:
    conn.executemany(
        "INSERT INTO organisations (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')",
        [(n, f"Organisation {n}") for n in range(1, orgs + 1)],
    )
    conn.executemany(
        "INSERT INTO units (id, org_id, name) VALUES (?, ?, ?)",
        [((o - 1) * UNITS + u + 1, o, f"Unit {u + 1}") for o in range(1, orgs + 1)
         for u in range(UNITS)],
    )  # fmt: skip
    people = range(1, orgs * STAFF + 1)
    conn.executemany(
        "INSERT INTO people (id, telegram_id, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')",
        [(p, -p) for p in people],
    )
    conn.executemany(
        "INSERT INTO memberships (person_id, org_id, unit_id, role) VALUES (?, ?, ?, 'staff')",
        [(p, (p - 1) // STAFF + 1, ((p - 1) // STAFF) * UNITS + (p - 1) % UNITS + 1)
         for p in people],
    )  # fmt: skip


async def _digest_and_text(db: Database, frameworks: Frameworks, org_id: int) -> None:
    digest = await compute_digest(db, frameworks, org_id, now=NOW)
    telegram_messages(digest, frameworks, "en")


async def _median(runs: int, call: Callable[[], Awaitable[object]]) -> float:
    await call()  # warm the page cache and the template cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _query_plan(conn: Connection) -> list[str]:
    params = {"org": 1, "framework": "equass", "start": "2026-09-07", "end": "2026-11-01"}
    return [
        row["detail"]
        for sql in (STAFF_VALUES, FEEDBACK_STATS)
        for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


if __name__ == "__main__":
    main()
