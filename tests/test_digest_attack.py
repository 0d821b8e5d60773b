"""An attacker with a manager's rights collects every digest and tries to pin a hidden group.

The manager of the whole organisation requests `/digest` for the organisation and for
each unit, for every week over months, while answers keep arriving, and keeps every
number released. They know their own answers. They are given more than any manager
has: every hidden group's exact size, and the raw (unshrunk) mean behind every figure
shown. From all that they solve, per window, audience and item, the one equation that
ties the figures together (the organisation is its units plus the staff of no unit),
and bound each hidden group's mean. Every bound must stay wider than the protection
interval, and no derived count may come from fewer than k people.

The solver and the ground truth are written here from the stored rows, independently
of the digest code.
"""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.digests.digest_compute import Viewer, compute_digest
from bot.services.digests.digest_model import Digest, Span
from bot.services.digests.disclosure import PROTECTION
from bot.services.periods import iso_week
from bot.services.runtime import Runtime, open_runtime
from storage.orgs import OrgRepo
from tests.fake_clock import FakeClock
from tests.test_digest import add_session, staff_member

K = 5
START = date(2026, 3, 2)  # a Monday
WEEKS = 30
CLOCK = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
STAFF_QUESTIONS = ("lead_heading", "lead_values", "rights_informed", "ethics_code")
USER_QUESTIONS = ("su_respect", "su_say", "su_safe")
ORG = "org"
REST = "rest"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


@dataclass
class World:
    org_id: int
    units: list[int]
    manager: int  # the attacker's person id (they also check in as staff)
    staff: dict[int, int | None]  # person -> unit (None: no unit)
    users: dict[int | None, int]  # unit -> service users who answer there


async def build(runtime: Runtime) -> World:
    orgs = OrgRepo(runtime.db)
    org_id = await orgs.create_org("Attacked", k=K)
    units = [await orgs.create_unit(org_id, name) for name in ("A", "B", "C", "D")]
    staff: dict[int, int | None] = {}
    sizes = {units[0]: 14, units[1]: 9, units[2]: 4, units[3]: 5, None: 2}
    for unit, size in sizes.items():
        for _ in range(size):
            person = await staff_member(runtime, org_id, 50_000 + len(staff), unit)
            staff[person] = unit
    manager = next(p for p, u in staff.items() if u == units[3])  # in a unit of exactly k
    users = {units[0]: 30, units[1]: 3, units[2]: 12, units[3]: 0, None: 1}
    return World(org_id, units, manager, staff, users)


async def answer_week(runtime: Runtime, world: World, monday: date, rng: random.Random) -> None:
    for person, unit in world.staff.items():
        if rng.random() < 0.7:
            day = monday + timedelta(days=rng.randrange(5))
            picked = rng.sample(STAFF_QUESTIONS, 2)
            answers = [(q, float(rng.randint(1, 5))) for q in picked]
            await add_session(runtime, world.org_id, "staff", person, day, answers, unit_id=unit)
    for unit, count in world.users.items():
        for _ in range(count):
            if rng.random() < 0.15:
                day = monday + timedelta(days=rng.randrange(7))
                answers = [(q, float(rng.randint(1, 5))) for q in USER_QUESTIONS]
                await add_session(
                    runtime, world.org_id, "service_user", None, day, answers, unit_id=unit
                )


Key = tuple[date, str, str]  # (window start, audience, item)


Truth = dict[Key, dict[object, list[tuple[str, float]]]]


def truth(conn: sqlite3.Connection, org_id: int, spans: list[Span]) -> Truth:
    """Per window, audience and item: each group's (respondent, value), by plain Python."""
    links: dict[tuple[int, str], list[str]] = defaultdict(list)
    for version, question, item in conn.execute(
        "SELECT script_version_id, question_id, item_id FROM question_items"
        " WHERE framework = 'equass'"
    ):
        links[(version, question)].append(item)
    rows = conn.execute(
        "SELECT a.id, a.audience, a.question_id, a.script_version_id, a.score, a.answered_on,"
        " a.unit_id, a.session_id, s.person_id FROM answers a JOIN sessions s"
        " ON s.id = a.session_id WHERE a.org_id = ? AND a.score IS NOT NULL",
        (org_id,),
    ).fetchall()
    found: dict[Key, dict[object, list[tuple[str, float]]]] = {}
    for span in spans:
        inside = [r for r in rows if span.start.isoformat() <= r[5] <= span.end.isoformat()]
        newest: dict[tuple[str, str], tuple] = {}
        home: dict[str, tuple] = {}
        for row in inside:
            who = f"p{row[8]}" if row[8] is not None else f"s{row[7]}"
            stamp = (row[5], row[0])
            if (who, row[2]) not in newest or stamp > newest[(who, row[2])][0]:
                newest[(who, row[2])] = (stamp, row)
            if who not in home or stamp > home[who][0]:
                home[who] = (stamp, row[6])
        values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for (who, _q), (_stamp, row) in newest.items():
            for item in links[(row[3], row[2])]:
                values[(row[1], item, who)].append(row[4])
        for (audience, item, who), scores in values.items():
            group = home[who][1]
            groups = found.setdefault((span.start, audience, item), {})
            groups.setdefault(REST if group is None else group, []).append(
                (who, sum(scores) / len(scores))
            )
    return found


def bounds(
    hidden: dict[object, list[float]], remainder: float | None
) -> dict[object, tuple[float, float]]:
    """The attacker's solver: each hidden group's possible mean, given the hidden sum."""
    result = {}
    for group, values in hidden.items():
        n = len(values)
        if remainder is None:
            result[group] = (1.0, 5.0)
            continue
        others = sum(len(v) for g, v in hidden.items() if g != group)
        low = (remainder - 5.0 * others) / n
        high = (remainder - 1.0 * others) / n
        result[group] = (max(1.0, low), min(5.0, high))
    return result


async def test_every_digest_a_manager_can_request_leaves_hidden_groups_hidden(
    runtime: Runtime,
) -> None:
    world = await build(runtime)
    rng = random.Random(11)
    viewer = Viewer.person(world.manager)
    scopes: list[int | None] = [None, *world.units]
    released: dict[tuple[date, object, str, str], tuple[int, float]] = {}
    counts: dict[tuple[date, object, str], int] = {}
    spans: dict[date, Span] = {}
    reads = 0
    for week in range(WEEKS):
        monday = START + timedelta(weeks=week)
        await answer_week(runtime, world, monday, rng)
        # Mid-week and again after more answers: the same week read twice.
        for moment in (monday + timedelta(days=3), monday + timedelta(days=6)):
            now = datetime.combine(moment, datetime.min.time(), UTC) + timedelta(hours=12)
            asked = iso_week(moment - timedelta(days=7 * rng.randrange(3)))
            for scope in scopes:
                digest = await compute_digest(
                    runtime.db, runtime.frameworks, world.org_id, scope, asked, now=now,
                    viewer=viewer,
                )  # fmt: skip
                reads += 1
                collect(digest, scope, released, counts, spans)
    assert reads == WEEKS * 2 * len(scopes) and len(spans) >= 3

    everything = await runtime.db.run(lambda conn: truth(conn, world.org_id, list(spans.values())))
    own = f"p{world.manager}"
    tried = pinned = 0
    for (start, audience, item), groups in everything.items():
        # What the attacker knows: every group's values but their own taken out.
        others = {g: [v for who, v in members if who != own] for g, members in groups.items()}
        shown = {g for g in [*world.units, ORG] if (start, g, audience, item) in released}
        organisation = [v for values in others.values() for v in values]
        remainder = None
        if ORG in shown:
            remainder = sum(organisation) - sum(sum(others[g]) for g in shown if g in others)
        hidden = {g: v for g, v in others.items() if g not in shown and v}
        if remainder is not None and hidden:
            together = sum(len(v) for v in hidden.values())
            assert together >= K, (start, audience, item, "hidden groups sum to", together)
        for group, (low, high) in bounds(hidden, remainder).items():
            values = hidden[group]
            if len(values) >= K:
                continue  # k people: not a small group
            tried += 1
            mean = sum(values) / len(values)
            need_low, need_high = max(1.0, mean - PROTECTION), min(5.0, mean + PROTECTION)
            if low > need_low + 1e-9 or high < need_high - 1e-9:
                pinned += 1
                pytest.fail(f"{group} of {len(values)} pinned to [{low}, {high}] around {mean}")
        # Every figure shown comes from at least k people besides the attacker.
        for group in shown:
            assert len(others.get(group, organisation if group == ORG else [])) >= K
    assert tried >= 10 and pinned == 0  # small groups existed, and none was pinned
    # Counts: a hidden group's size never follows from the released counts either.
    for (start, audience, scope), n in counts.items():
        if scope == ORG:
            units = sum(counts.get((start, audience, u), 0) for u in world.units)
            assert n - units == 0 or n - units >= K


def collect(
    digest: Digest,
    scope: int | None,
    released: dict[tuple[date, object, str, str], tuple[int, float]],
    counts: dict[tuple[date, object, str], int],
    spans: dict[date, Span],
) -> None:
    """Keep every released figure; the same one read again must not have moved."""
    where: object = ORG if scope is None else scope
    spans[digest.window.start] = digest.window
    for point in digest.trend:
        spans[point.span.start] = point.span
        for item, staff, users in zip(digest.items, point.staff, point.service_users, strict=True):
            for audience, figure in (("staff", staff), ("service_user", users)):
                if figure is None:
                    continue
                key = (point.span.start, where, audience, item.item_id)
                seen = released.setdefault(key, (figure.n, figure.mean))
                assert seen == (figure.n, figure.mean), ("moved", key, seen, figure)
    for audience, n in (
        ("staff", digest.participation.staff),
        ("service_user", digest.participation.service_users),
    ):
        if n is not None:
            seen_n = counts.setdefault((digest.window.start, where, audience), n)
            assert seen_n == n
