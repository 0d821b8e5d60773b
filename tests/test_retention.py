"""Retention: comments older than the organisation's period are deleted, every day."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.dialog_service import Press, Respondent, Step
from bot.services.retention import DailyRetention, months_before, purge_comments, purge_marks
from bot.services.runtime import Runtime, open_runtime
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fake_clock import FakeClock
from tests.harness import Harness

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CLOCK = FakeClock(NOW)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 23), 24, date(2024, 11, 23)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2028, 2, 29), 12, date(2027, 2, 28)),
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


@dataclass
class World:
    rt: Runtime
    org: int
    other: int
    person: int
    telegram_id: int


@contextmanager
def on_day(world: World, day: date) -> Iterator[None]:
    """The runtime's clock at noon of `day` (UTC), then back to where it was."""
    clock = world.rt.clock
    assert isinstance(clock, FakeClock)
    before = clock.now
    clock.now = datetime.combine(day, time(12), UTC)
    try:
        yield
    finally:
        clock.now = before


async def answer(world: World, me: Respondent, step: Step, value: object) -> Step:
    press = Press(me.telegram_id, step.session_id, "answer", value=value)
    reply = await world.rt.dialogs.press(press)
    assert reply.refusal is None and reply.step is not None
    return reply.step


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = load_settings(env={"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as rt:
        orgs = OrgRepo(rt.db)
        org = await orgs.create_org("Dom Sonce", timezone="UTC")
        other = await orgs.create_org("Dom Luna", timezone="UTC")
        await orgs.update_settings(other, retention_months=6)
        person = await PeopleRepo(rt.db).get_or_create(1001, "en")
        yield World(rt, org, other, person.id, 1001)


async def staff_comment(world: World, org: int, day: date, text: str) -> int:
    """A check-in with a low score and a comment on its first question, on `day`."""
    me = Respondent(world.telegram_id, person_id=world.person)
    with on_day(world, day):
        step = await world.rt.dialogs.begin(
            script_id="staff-pulse", org_id=org, unit_id=None, respondent=me
        )
        step = await answer(world, me, step, 1)
        assert step.screen.phase == "follow_up"
        await answer(world, me, step, text)
    return step.session_id


async def feedback_text(world: World, day: date, text: str) -> int:
    """Anonymous feedback whose last (text) answer is `text`."""
    telegram_id = 5005 + day.toordinal()
    me = Respondent(telegram_id, key=world.rt.identities.key(telegram_id))
    with on_day(world, day):
        step = await world.rt.dialogs.begin(
            script_id="service-user", org_id=world.org, unit_id=None, respondent=me
        )
        while step.screen.question is not None and step.screen.question.type != "text":
            choice = step.screen.question.type == "choice"  # which open question: "better"
            step = await answer(world, me, step, "better" if choice else 4)
        await answer(world, me, step, text)
    return step.session_id


async def comments(world: World) -> dict[int, list[str]]:
    rows = await world.rt.db.fetchall(
        "SELECT session_id, comment FROM answers WHERE comment IS NOT NULL ORDER BY id"
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["session_id"], []).append(row["comment"])
    return found


async def state_text(world: World, session: int) -> str:
    row = await world.rt.db.fetchone("SELECT state_json FROM sessions WHERE id = ?", (session,))
    assert row is not None
    return str(row["state_json"])


async def test_old_comments_go_and_scores_stay(world: World) -> None:
    old = await staff_comment(world, world.org, date(2024, 11, 1), "the rota, again")
    recent = await staff_comment(world, world.org, date(2024, 12, 2), "more handover time")
    typed = await feedback_text(world, date(2024, 10, 7), "Ana was kind to me")
    half_year = await staff_comment(world, world.other, date(2026, 5, 4), "six months ago")
    scores_before = await world.rt.db.fetchall("SELECT id, score FROM answers ORDER BY id")

    assert await purge_comments(world.rt.db, NOW) == 3

    assert await comments(world) == {recent: ["more handover time"]}
    for session, text in ((old, "the rota"), (typed, "Ana was kind"), (half_year, "six months")):
        assert text not in await state_text(world, session)
    assert "more handover time" in await state_text(world, recent)
    scores_after = await world.rt.db.fetchall("SELECT id, score FROM answers ORDER BY id")
    assert [tuple(r) for r in scores_after] == [tuple(r) for r in scores_before]
    # The states still load, and the typed answer is kept as given without its text.
    state = json.loads(await state_text(world, typed))
    assert state["answers"]["su_better"]["value"] is None
    assert await purge_comments(world.rt.db, NOW) == 0


async def test_a_session_held_in_memory_does_not_write_the_text_back(world: World) -> None:
    day = date(2024, 11, 4)
    me = Respondent(world.telegram_id, person_id=world.person)
    dialogs = world.rt.dialogs
    with on_day(world, day):
        first = await dialogs.begin(
            script_id="staff-pulse", org_id=world.org, unit_id=None, respondent=me
        )
        step = await answer(world, me, first, 2)
        step = await answer(world, me, step, "too few staff")
    assert await purge_comments(world.rt.db, NOW) == 1

    with on_day(world, day):
        stale = Press(me.telegram_id, first.session_id, "answer", step.screen.step, value=4)
        reply = await dialogs.press(stale)
        # The copy in memory is out of date: the session is read again and the press,
        # on the step the stored session is at too, applied to that (not to the copy).
        assert reply.refusal is None and reply.step is not None
        assert reply.step.screen.step != step.screen.step
    assert "too few staff" not in await state_text(world, first.session_id)
    assert await comments(world) == {}


async def test_the_daily_job_runs_once_a_day(world: World) -> None:
    job = DailyRetention(world.rt.db)
    await staff_comment(world, world.org, date(2024, 11, 1), "first")
    assert await job(NOW) == 1
    await staff_comment(world, world.org, date(2024, 11, 8), "second")
    assert await job(NOW.replace(hour=23)) == 0  # the same day: nothing runs
    assert await job(NOW.replace(day=24)) == 1


async def test_the_scheduler_runs_it(bot: Harness) -> None:
    org = await bot.org()
    person = await PeopleRepo(bot.rt.db).get_or_create(2002, "en")
    world = World(bot.rt, org, org, person.id, 2002)
    await staff_comment(world, org, date(2024, 1, 8), "an old complaint")
    assert bot.app is not None
    scheduler = bot.app.bot_data.scheduler
    assert scheduler is not None
    report = await scheduler.run_due(bot.clock())
    assert 1 in report.extra
    assert await comments(world) == {}


async def test_marks_go_once_their_last_day_is_over_everywhere(world: World) -> None:
    db = world.rt.db
    for key, until in (("a", "2026-11-21"), ("b", "2026-11-22"), ("c", "2026-11-29")):
        await db.execute(
            "INSERT INTO submissions (respondent_key, script_id, org_id, period, until)"
            " VALUES (?, 'service-user', ?, '2026-W45+8', ?)",
            (key, world.org, until),
        )
        await db.execute(
            "INSERT INTO respondent_marks (mark, token, until) VALUES (?, 't', ?)", (key, until)
        )
    # Monday Nov 23 (UTC): Sunday Nov 22 may still be going on somewhere, so it stays.
    assert await purge_marks(db, NOW) == 2
    kept = await db.fetchall("SELECT respondent_key FROM submissions ORDER BY 1")
    assert [r[0] for r in kept] == ["b", "c"]
    marks = await db.fetchall("SELECT mark FROM respondent_marks ORDER BY 1")
    assert [r[0] for r in marks] == ["b", "c"]
    assert await DailyRetention(db)(NOW.replace(day=24)) == 2  # Tuesday: Sunday's are over
    assert await purge_marks(db, NOW.replace(day=30)) == 0
