"""Sessions and answers: save_step atomicity, completion, rotation and the export."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from storage import (
    AnswerRow,
    Database,
    NotFound,
    OrgRepo,
    PeopleRepo,
    ScriptRepo,
    SessionRepo,
    StaleRevision,
    respondent_key,
)
from storage.connection import INTEGRITY_ERRORS
from storage.sessions import StepWrite, SubmissionMark, period_key
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

TODAY = date(2026, 11, 23)
PERIOD = "2026-W48"
KEY = respondent_key(b"k" * 32, 424242)


@dataclass(frozen=True)
class World:
    db: Database
    sessions: SessionRepo
    org_id: int
    unit_id: int
    person_id: int
    staff_version: int
    user_version: int


@pytest.fixture
async def world(db_location: str) -> AsyncIterator[World]:
    async with await Database.open(db_location, clock=CLOCK) as db:
        orgs = OrgRepo(db)
        org_id = await orgs.create_org("Dom", "Europe/Ljubljana", "sl", 5)
        unit_id = await orgs.create_unit(org_id, "Home care")
        person = await PeopleRepo(db).get_or_create(1001, "sl")
        scripts = ScriptRepo(db)
        staff = await scripts.publish(
            "staff-pulse",
            None,
            "id: staff-pulse\n",
            "yaml",
            "Pulse",
            None,
            [("q1", "equass", "participation"), ("q1", "cz-sqss", "5"), ("q2", "equass", "rights")],
        )
        users = await scripts.publish(
            "feedback", None, "id: feedback\n", "yaml", "Feedback", None, []
        )
        yield World(db, SessionRepo(db), org_id, unit_id, person.id, staff.id, users.id)


async def staff_session(w: World) -> int:
    row = await w.sessions.create(
        w.staff_version, w.org_id, w.unit_id, "staff", w.person_id, None, PERIOD, "{}", TODAY
    )
    return row.id


async def user_session(w: World, key: str = KEY) -> int:
    row = await w.sessions.create(
        w.user_version, w.org_id, w.unit_id, "service_user", None, key, PERIOD, "{}", TODAY
    )
    return row.id


async def count(db: Database, sql: str, params: tuple[object, ...] = ()) -> int:
    row = await db.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def test_create_and_get(world: World) -> None:
    row = await world.sessions.create(
        world.staff_version,
        world.org_id,
        world.unit_id,
        "staff",
        world.person_id,
        None,
        PERIOD,
        '{"at": 0}',
        TODAY,
    )
    assert (row.script_id, row.status, row.revision, row.state_json) == (
        "staff-pulse",
        "active",
        0,
        '{"at": 0}',
    )
    assert (row.started_on, row.updated_on, row.completed_on) == (TODAY, TODAY, None)
    assert await world.sessions.get(row.id) == row
    assert await world.sessions.get(row.id + 100) is None


async def test_sessions_must_match_their_audience(world: World) -> None:
    s = world.sessions
    with pytest.raises(ValueError, match="staff session"):
        await s.create(
            world.staff_version, world.org_id, None, "staff", None, KEY, PERIOD, "{}", TODAY
        )
    with pytest.raises(ValueError, match="service-user session"):
        await s.create(
            world.user_version, world.org_id, None, "service_user", world.person_id, None,
            PERIOD, "{}", TODAY,
        )  # fmt: skip


async def test_find_open_by_person_and_by_respondent(world: World) -> None:
    s = world.sessions
    staff_id = await staff_session(world)
    user_id = await user_session(world)
    found = await s.find_open(
        person_id=world.person_id, script_id="staff-pulse", org_id=world.org_id, period=PERIOD
    )
    assert found is not None and found.id == staff_id
    found = await s.find_open(
        respondent_key=KEY, script_id="feedback", org_id=world.org_id, period=PERIOD
    )
    assert found is not None and found.id == user_id
    assert (
        await s.find_open(
            person_id=world.person_id, script_id="feedback", org_id=world.org_id, period=PERIOD
        )
        is None
    )
    assert (
        await s.find_open(
            person_id=world.person_id,
            script_id="staff-pulse",
            org_id=world.org_id,
            period="2026-W49",
        )
        is None
    )
    with pytest.raises(ValueError, match="exactly one"):
        await s.find_open(script_id="feedback", org_id=world.org_id, period=PERIOD)


async def test_save_step_writes_answer_state_and_revision(world: World) -> None:
    sid = await staff_session(world)
    answer = AnswerRow("q1", score=4.0, value_num=4.0, comment="good team")
    revision = await world.sessions.save_step(sid, 0, '{"at": 1}', "active", TODAY, upsert=answer)
    assert revision == 1
    row = await world.sessions.get(sid)
    assert (row.revision, row.state_json) == (1, '{"at": 1}')
    assert await world.sessions.answers(sid) == [answer]
    stored = await world.db.fetchone("SELECT * FROM answers WHERE session_id = ?", (sid,))
    assert (stored["org_id"], stored["unit_id"], stored["audience"], stored["period"]) == (
        world.org_id,
        world.unit_id,
        "staff",
        PERIOD,
    )
    assert (stored["script_version_id"], stored["answered_on"]) == (
        world.staff_version,
        "2026-11-23",
    )


async def test_the_same_answer_twice_is_one_row(world: World) -> None:
    sid = await staff_session(world)
    answer = AnswerRow("q1", score=2.0)
    await world.sessions.save_step(sid, 0, "{}", "active", TODAY, upsert=answer)
    await world.sessions.save_step(sid, 1, "{}", "active", TODAY, upsert=answer)
    assert await world.sessions.answers(sid) == [answer]
    assert await count(world.db, "SELECT count(*) FROM answers") == 1


async def test_a_changed_answer_replaces_the_old_one(world: World) -> None:
    sid = await staff_session(world)
    await world.sessions.save_step(
        sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", score=2.0, comment="x")
    )
    await world.sessions.save_step(
        sid, 1, "{}", "active", TODAY, upsert=AnswerRow("q1", not_applicable=True)
    )
    assert await world.sessions.answers(sid) == [AnswerRow("q1", not_applicable=True)]


async def test_stale_revision_writes_nothing(world: World) -> None:
    sid = await staff_session(world)
    await world.sessions.save_step(
        sid, 0, '{"at": 1}', "active", TODAY, upsert=AnswerRow("q1", score=5.0)
    )
    with pytest.raises(StaleRevision) as error:
        await world.sessions.save_step(
            sid, 0, '{"at": 9}', "active", TODAY, upsert=AnswerRow("q2", score=1.0)
        )
    assert (error.value.session_id, error.value.expected_revision) == (sid, 0)
    row = await world.sessions.get(sid)
    assert (row.revision, row.state_json) == (1, '{"at": 1}')
    assert await world.sessions.answers(sid) == [AnswerRow("q1", score=5.0)]


async def test_concurrent_steps_on_one_revision_let_exactly_one_through(world: World) -> None:
    sid = await staff_session(world)
    results = await asyncio.gather(
        *(
            world.sessions.save_step(
                sid, 0, "{}", "active", TODAY, upsert=AnswerRow(f"q{i}", score=3.0)
            )
            for i in range(10)
        ),
        return_exceptions=True,
    )
    assert sum(r == 1 for r in results) == 1
    assert sum(isinstance(r, StaleRevision) for r in results) == 9
    assert len(await world.sessions.answers(sid)) == 1


async def test_save_step_on_a_missing_session(world: World) -> None:
    with pytest.raises(NotFound):
        await world.sessions.save_step(999, 0, "{}", "active", TODAY)


async def test_going_back_deletes_the_skipped_answer(world: World) -> None:
    sid = await staff_session(world)
    await world.sessions.save_step(sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", score=3.0))
    await world.sessions.save_step(sid, 1, "{}", "active", TODAY, upsert=AnswerRow("q2", score=3.0))
    revision = await world.sessions.save_step(
        sid, 2, "{}", "active", TODAY, upsert=AnswerRow("q1", score=1.0), delete_question="q2"
    )
    assert revision == 3
    assert await world.sessions.answers(sid) == [AnswerRow("q1", score=1.0)]


async def test_a_step_can_drop_several_hidden_answers(world: World) -> None:
    sid = await staff_session(world)
    for revision, question in enumerate(["q1", "q2", "q3"]):
        await world.sessions.save_step(
            sid, revision, "{}", "active", TODAY, upsert=AnswerRow(question, score=3.0)
        )
    await world.sessions.save_step(
        sid, 3, "{}", "active", TODAY, upsert=AnswerRow("q4", score=2.0),
        delete_questions=("q2", "q3"),
    )  # fmt: skip
    assert [a.question_id for a in await world.sessions.answers(sid)] == ["q1", "q4"]


async def test_writing_and_deleting_one_question_is_refused(world: World) -> None:
    sid = await staff_session(world)
    with pytest.raises(ValueError, match="same question"):
        await world.sessions.save_step(
            sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1"), delete_questions=["q1"]
        )
    assert (await world.sessions.get(sid)).revision == 0


async def test_pause_keeps_the_session_open(world: World) -> None:
    sid = await staff_session(world)
    await world.sessions.save_step(sid, 0, "{}", "paused", TODAY)
    found = await world.sessions.find_open(
        person_id=world.person_id, script_id="staff-pulse", org_id=world.org_id, period=PERIOD
    )
    assert found is not None and found.status == "paused"


async def test_completing_a_staff_session(world: World) -> None:
    sid = await staff_session(world)
    later = date(2026, 11, 25)
    await world.sessions.save_step(
        sid, 0, "{}", "done", later, upsert=AnswerRow("q1", score=4.0), complete=True
    )
    row = await world.sessions.get(sid)
    assert (row.status, row.completed_on, row.updated_on, row.person_id) == (
        "done",
        later,
        later,
        world.person_id,
    )
    assert await count(world.db, "SELECT count(*) FROM submissions") == 0
    with pytest.raises(StaleRevision):
        await world.sessions.save_step(sid, 1, "{}", "active", later, upsert=AnswerRow("q2"))
    assert (
        await world.sessions.find_open(
            person_id=world.person_id, script_id="staff-pulse", org_id=world.org_id, period=PERIOD
        )
        is None
    )


async def test_status_done_and_complete_go_together(world: World) -> None:
    sid = await staff_session(world)
    with pytest.raises(ValueError, match="go together"):
        await world.sessions.save_step(sid, 0, "{}", "done", TODAY)
    with pytest.raises(ValueError, match="go together"):
        await world.sessions.save_step(sid, 0, "{}", "active", TODAY, complete=True)
    assert (await world.sessions.get(sid)).revision == 0


async def test_service_user_completion_records_submission_and_forgets_the_key(
    world: World,
) -> None:
    s = world.sessions
    sid = await user_session(world)
    assert await s.has_submitted(KEY, "feedback", world.org_id, PERIOD) is False
    await s.save_step(sid, 0, "{}", "active", TODAY, upsert=AnswerRow("mood", score=5.0))
    await s.save_step(
        sid, 1, "{}", "done", TODAY, upsert=AnswerRow("staff_kind", score=4.0), complete=True
    )

    assert await s.has_submitted(KEY, "feedback", world.org_id, PERIOD) is True
    assert await s.has_submitted(KEY, "feedback", world.org_id, "2026-W49") is False
    assert await s.has_submitted(KEY, "staff-pulse", world.org_id, PERIOD) is False
    row = await s.get(sid)
    assert (row.status, row.respondent_key) == ("done", None)
    assert len(await s.answers(sid)) == 2
    # Only a per-period derivation of the key survives, in submissions, which have
    # no path to the answers and cannot be joined across weeks.
    assert (
        await count(world.db, "SELECT count(*) FROM sessions WHERE respondent_key = ?", (KEY,)) == 0
    )
    submission = await world.db.fetchall("SELECT * FROM submissions")
    week_key = period_key(KEY, PERIOD)
    # Without a mark given, the session's own week, kept until its Sunday.
    assert [tuple(r) for r in submission] == [
        (week_key, "feedback", world.org_id, PERIOD, "2026-11-29")
    ]
    assert week_key not in (KEY, period_key(KEY, "2026-W49"))


async def test_finished_feedback_is_marked_under_the_mark_given(world: World) -> None:
    s = world.sessions
    sid = await user_session(world)
    window = SubmissionMark("2026-W45+8", date(2026, 12, 27))
    write = StepWrite(sid, 0, "{}", "done", TODAY, AnswerRow("mood", score=5.0), (), True, window)
    assert await s.save(write) == 1
    assert await s.has_submitted(KEY, "feedback", world.org_id, "2026-W45+8") is True
    assert await s.has_submitted(KEY, "feedback", world.org_id, PERIOD) is False
    rows = await world.db.fetchall("SELECT respondent_key, period, until FROM submissions")
    marked = (period_key(KEY, "2026-W45+8"), "2026-W45+8", "2026-12-27")
    assert [tuple(r) for r in rows] == [marked]


async def test_a_stale_completion_records_no_submission(world: World) -> None:
    s = world.sessions
    sid = await user_session(world)
    await s.save_step(sid, 0, "{}", "active", TODAY, upsert=AnswerRow("mood", score=5.0))
    with pytest.raises(StaleRevision):
        await s.save_step(sid, 0, "{}", "done", TODAY, complete=True)
    assert await s.has_submitted(KEY, "feedback", world.org_id, PERIOD) is False
    assert (await s.get(sid)).respondent_key == KEY


async def test_rotation_round_trip(world: World) -> None:
    s = world.sessions
    assert await s.get_rotation(world.person_id, "staff-pulse") == (0, frozenset())
    await s.set_rotation(world.person_id, "staff-pulse", 0, ["q2", "q1", "q1"])
    assert await s.get_rotation(world.person_id, "staff-pulse") == (0, frozenset({"q1", "q2"}))
    await s.set_rotation(world.person_id, "staff-pulse", 1, [])
    assert await s.get_rotation(world.person_id, "staff-pulse") == (1, frozenset())
    assert await s.get_rotation(world.person_id, "feedback") == (0, frozenset())


async def test_invalid_values_are_refused_by_the_schema(world: World) -> None:
    sid = await staff_session(world)
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await world.sessions.save_step(
            sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", score=6.0)
        )
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await world.sessions.save_step(
            sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", value_json="[1,")
        )
    # Each failed step rolled back its revision bump too.
    assert (await world.sessions.get(sid)).revision == 0


async def test_export_rows_carry_versions_names_and_items(world: World) -> None:
    s = world.sessions
    sid = await staff_session(world)
    await s.save_step(
        sid, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", score=4.0, comment="ok")
    )
    await s.save_step(sid, 1, "{}", "active", TODAY, upsert=AnswerRow("q2", value_json='["a","b"]'))
    uid = await user_session(world)
    await s.save_step(
        uid, 0, "{}", "active", date(2026, 11, 20), upsert=AnswerRow("mood", skipped=True)
    )

    rows = [row async for row in s.iter_answers()]
    assert [(r.script_id, r.script_version, r.question_id, r.items) for r in rows] == [
        ("staff-pulse", 1, "q1", "cz-sqss:5;equass:participation"),
        ("staff-pulse", 1, "q2", "equass:rights"),
        ("feedback", 1, "mood", ""),
    ]
    first = rows[0]
    assert (first.org_name, first.unit_name, first.audience, first.answered_on) == (
        "Dom",
        "Home care",
        "staff",
        TODAY,
    )
    assert (first.score, first.comment) == (4.0, "ok")
    assert rows[1].value_json == '["a","b"]'
    assert rows[2].skipped is True

    since = [r.question_id async for r in s.iter_answers(since=date(2026, 11, 21))]
    assert since == ["q1", "q2"]
    other = await OrgRepo(world.db).create_org("Other", "Europe/Ljubljana", "en", 5)
    assert [r async for r in s.iter_answers(org_id=other)] == []
    assert len([r async for r in s.iter_answers(org_id=world.org_id)]) == 3


async def test_export_pages_through_many_answers(world: World) -> None:
    s = world.sessions
    total = 1234
    for start in range(0, total, 5):
        sid = await staff_session(world)
        for revision, n in enumerate(range(start, min(start + 5, total))):
            await s.save_step(
                sid, revision, "{}", "active", TODAY, upsert=AnswerRow(f"q{n}", score=3.0)
            )
    exported = [r.question_id async for r in s.iter_answers()]
    assert exported == [f"q{n}" for n in range(total)]


async def test_backup_contains_every_committed_answer(world: World, tmp_path: Path) -> None:
    s = world.sessions
    sessions = [await staff_session(world) for _ in range(20)]

    async def answer_all(sid: int) -> None:
        for revision in range(10):
            await s.save_step(
                sid, revision, "{}", "active", TODAY, upsert=AnswerRow(f"q{revision}", score=2.0)
            )

    await asyncio.gather(*(answer_all(sid) for sid in sessions))
    target = tmp_path / "backup.db"
    if world.db.dialect == "postgresql":
        with pytest.raises(ValueError, match="pg_dump"):
            await world.db.backup(target)
        assert not target.exists()
        return
    await world.db.backup(target)
    copy = sqlite3.connect(target)
    try:
        pairs = set(copy.execute("SELECT session_id, question_id FROM answers").fetchall())
    finally:
        copy.close()
    assert pairs == {(sid, f"q{n}") for sid in sessions for n in range(10)}
