"""Digest numbers: windows, respondents, intervals, changes and who counts toward k.

Figures are checked against a plain-Python count over the stored rows; the statistics
against textbook formulas written out here again.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.digests.demo_data import DemoResult, create_demo
from bot.services.digests.digest_compute import DigestError, Viewer, compute_digest
from bot.services.digests.digest_windows import WindowPlan
from bot.services.digests.score_statistics import t90
from bot.services.periods import iso_week
from bot.services.runtime import Runtime, open_runtime
from storage.errors import NotFound
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from storage.reports import FEEDBACK_STATS, STAFF_VALUES
from tests.fake_clock import FakeClock

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLOCK = FakeClock(NOW)
LENSES = ("equass", "equass-revised", "cz-sqss", "eqalin")
PLAN = WindowPlan([])
WINDOW = PLAN.released(iso_week(TODAY - timedelta(days=7)))  # what a digest now shows
DAY = WINDOW.start + timedelta(days=10)  # a Thursday inside it
BEFORE = PLAN.before(WINDOW).start + timedelta(days=10)  # inside the window before


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


@pytest.fixture
async def demo(runtime: Runtime) -> DemoResult:
    return await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=7)


Groups = dict[tuple[str, str], list[float]]  # (item, audience) -> each respondent's value


def count_by_hand(
    conn: sqlite3.Connection, org_id: int, lens: str, start: date, end: date
) -> Groups:
    """Each respondent's value per item and audience in a window, by plain Python.

    Staff: each person's newest answer to each question, their mean over an item's
    questions. Service users: each feedback (session) is one respondent.
    """
    links: dict[tuple[int, str], list[str]] = defaultdict(list)
    for version, question, item in conn.execute(
        "SELECT script_version_id, question_id, item_id FROM question_items WHERE framework = ?",
        (lens,),
    ):
        links[(version, question)].append(item)
    newest: dict[tuple[str, str], tuple[str, int, str, float, int]] = {}
    for answer_id, audience, question, version, score, day, session, person in conn.execute(
        "SELECT a.id, a.audience, a.question_id, a.script_version_id, a.score, a.answered_on,"
        " a.session_id, s.person_id FROM answers a JOIN sessions s ON s.id = a.session_id"
        " WHERE a.org_id = ? AND a.score IS NOT NULL",
        (org_id,),
    ):
        if not start.isoformat() <= day <= end.isoformat():
            continue
        who = f"p{person}" if person is not None else f"s{session}"
        key = (who, question)
        if key not in newest or (day, answer_id) > (newest[key][2], newest[key][4]):
            newest[key] = (audience, version, day, score, answer_id)
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for (who, question), (audience, version, _day, score, _id) in newest.items():
        for item in links[(version, question)]:
            values[(item, audience, who)].append(score)
    groups: Groups = defaultdict(list)
    for (item, audience, _who), scores in values.items():
        groups[(item, audience)].append(sum(scores) / len(scores))
    return groups


@pytest.mark.parametrize("lens", LENSES)
async def test_organisation_figures_match_a_count_by_hand(
    runtime: Runtime, demo: DemoResult, lens: str
) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, lens=lens, now=NOW)
    assert (digest.window.start, digest.window.end) == (WINDOW.start, WINDOW.end)
    assert digest.window.weeks == 8 and digest.period == "2026-W47"
    groups = await runtime.db.run(
        lambda conn: count_by_hand(conn, demo.org_id, lens, WINDOW.start, WINDOW.end)
    )
    checked = 0
    for item in digest.items:
        for audience in ("staff", "service_user"):
            group = item.of(audience)  # type: ignore[arg-type]
            values = groups.get((item.item_id, audience), [])
            if group.figure is None:
                assert group.status != "shown"
                assert len(values) < digest.k or group.status == "withheld"
                continue
            figure = group.figure
            assert figure.n == len(values)
            assert figure.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
            half = t90(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
            if audience == "staff":  # the finite-population correction, 40 enrolled
                half *= math.sqrt((40 - len(values)) / (40 - 1))
            assert figure.half_width == pytest.approx(half, rel=1e-6, abs=1e-9)
            checked += 1
    assert checked >= 4  # the demo has real numbers under every lens


async def test_the_t_multiplier_is_students() -> None:
    # Published two-sided 90% quantiles of Student's t.
    for df, quantile in ((1, 6.314), (4, 2.132), (10, 1.812), (30, 1.697), (120, 1.658)):
        assert t90(df) == pytest.approx(quantile, abs=0.002)
    assert t90(0) == math.inf


async def test_each_unit_has_staff_scores_and_the_organisation_all_ten(
    runtime: Runtime, demo: DemoResult
) -> None:
    """The issue's bar: in the shipped demo, scores with an n and an interval where they act."""
    whole = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)
    assert all(i.staff.figure is not None for i in whole.items)
    assert all(i.staff.figure.half_width is not None for i in whole.items if i.staff.figure)
    for unit_id, _name in demo.units:
        digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, unit_id, now=NOW)
        scored = [i for i in digest.items if i.staff.figure is not None]
        assert len(scored) >= 8, [(i.item_id, i.staff.status) for i in digest.items]
        for item in scored:
            assert item.staff.figure is not None and item.staff.figure.n >= digest.k
            assert item.staff.figure.half_width is not None


async def test_service_users_are_not_scored_on_what_they_are_never_asked(
    runtime: Runtime, demo: DemoResult
) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)
    asked = set(digest.coverage["service_user"])
    assert asked and asked < {i.item_id for i in digest.items}
    assert set(digest.coverage["staff"]) == {i.item_id for i in digest.items}
    for item in digest.items:
        expected = "not_asked" if item.item_id not in asked else "shown"
        assert item.service_users.status == expected


async def test_a_window_in_progress_is_never_shown_and_reading_twice_gives_the_same(
    runtime: Runtime,
) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Steady", k=3)
    people = [await staff_member(runtime, org_id, 9000 + n) for n in range(6)]
    for n, person in enumerate(people[:4]):
        await add_session(runtime, org_id, "staff", person, DAY, [("lead_heading", 2.0 + n)])
    first = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    # Two more people answer now, in the window in progress.
    for person in people[4:]:
        await add_session(runtime, org_id, "staff", person, TODAY, [("lead_heading", 5.0)])
    second = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert first.item("leadership") == second.item("leadership")
    assert first.participation == second.participation
    assert second.item("leadership").staff.figure.n == 4  # type: ignore[union-attr]
    assert second.next_scores == PLAN.window_of(TODAY).end + timedelta(days=1)


async def test_a_staff_members_newest_answer_to_a_question_counts_once(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Twice", k=2)
    person = await staff_member(runtime, org_id, 7000)
    other = await staff_member(runtime, org_id, 7001)
    await add_session(runtime, org_id, "staff", person, DAY, [("lead_listen", 1.0)])
    await add_session(
        runtime, org_id, "staff", person, DAY + timedelta(days=7), [("lead_listen", 5.0)]
    )
    await add_session(runtime, org_id, "staff", other, DAY, [("lead_listen", 3.0)])
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    leadership = digest.item("leadership").staff
    assert leadership.figure is not None
    assert (leadership.figure.n, leadership.figure.mean) == (2, 4.0)
    assert digest.participation.staff == 2


async def test_a_group_counts_toward_k_without_the_readers_own_answers(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Five", k=5)
    people = [await staff_member(runtime, org_id, 7100 + n) for n in range(5)]
    for n, person in enumerate(people):
        await add_session(runtime, org_id, "staff", person, DAY, [("lead_heading", 1.0 + n)])
    anyone = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert anyone.item("leadership").staff.figure is not None
    manager = Viewer.person(people[0])
    mine = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW, viewer=manager)
    assert mine.item("leadership").staff.status == "few"
    assert mine.item("leadership").staff.figure is None
    assert mine.participation.staff is None


async def test_nobody_answering_reads_as_none_not_as_withheld(runtime: Runtime) -> None:
    """A count of nobody gives no one away: it is said, where a count below k is withheld."""
    org_id = await OrgRepo(runtime.db).create_org("Quiet", k=5)
    await staff_member(runtime, org_id, 7150)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert (digest.participation.staff, digest.participation.service_users) == (0, 0)
    assert digest.participation.staff_enrolled == 1


async def test_answered_never_exceeds_enrolled(runtime: Runtime) -> None:
    """Someone who answered and has left since still counts among those who could answer."""
    org_id = await OrgRepo(runtime.db).create_org("Leavers", k=1)
    people = [await staff_member(runtime, org_id, 7200 + n) for n in range(5)]
    for person in people:
        await add_session(runtime, org_id, "staff", person, DAY, [("lead_heading", 4.0)])
    await PeopleRepo(runtime.db).set_active(people[0], False)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert digest.participation.staff == 5
    assert digest.participation.staff_enrolled == 5


async def test_a_clear_change_is_called_one_and_noise_is_steady(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Moves", k=5)
    people = [await staff_member(runtime, org_id, 7300 + n) for n in range(12)]
    for n, person in enumerate(people):
        await add_session(
            runtime, org_id, "staff", person, BEFORE,
            [("lead_heading", 4.0 + n % 2), ("ethics_code", 3.0 + n % 2)],
        )  # fmt: skip
        await add_session(
            runtime, org_id, "staff", person, DAY,
            [("lead_heading", 2.0 + n % 2), ("ethics_code", 3.0 + (n + 1) % 2)],
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    leadership, ethics = digest.item("leadership").staff, digest.item("ethics").staff
    assert leadership.change is not None and leadership.change.direction == "down"
    assert leadership.previous is not None and leadership.previous.mean == 4.5
    assert ethics.change is not None and ethics.change.direction == "steady"
    assert ethics.change.value == 0


async def test_a_gap_is_flagged_only_when_the_data_support_it(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Gaps", k=5)
    for n in range(10):
        person = await staff_member(runtime, org_id, 7400 + n)
        await add_session(
            runtime, org_id, "staff", person, DAY,
            [("rights_informed", 5.0 - n % 2), ("part_voice", 1.0 + 4 * (n % 2))],
        )  # fmt: skip
    for n in range(10):
        await add_session(
            runtime, org_id, "service_user", None, DAY,
            [("su_respect", 2.0 + n % 2), ("su_say", 3.0 + n % 2)],
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    rights, participation = digest.item("rights"), digest.item("participation")
    assert rights.flagged_gap and rights.gap is not None and rights.gap.value == 2.0
    # Staff 3.0 on average against service users' 3.5, but staff split 1 and 5: no gap.
    assert participation.gap is not None and not participation.flagged_gap
    assert digest.gaps == ("rights",)
    wide = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW, gap=3.0)
    assert wide.gaps == ()


async def test_strongest_and_weakest_rank_the_shown_figures_per_audience(
    runtime: Runtime, demo: DemoResult
) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)
    for audience in ("staff", "service_user"):
        shown = {
            i.item_id: i.of(audience).mean  # type: ignore[arg-type]
            for i in digest.items
            if i.of(audience).shown  # type: ignore[arg-type]
        }
        high = [shown[i] for i in digest.strongest[audience]]  # type: ignore[index]
        low = [shown[i] for i in digest.weakest[audience]]  # type: ignore[index]
        assert high and low
        assert high == sorted(high, reverse=True) and low == sorted(low)
        rest = [v for i, v in shown.items() if i not in digest.strongest[audience]]  # type: ignore[index]
        assert min(high) >= max(rest)  # type: ignore[type-var]
    assert "rights" in digest.gaps  # the demo's story: staff see rights more rosily


async def test_a_small_units_comments_appear_in_no_digest(runtime: Runtime) -> None:
    orgs = OrgRepo(runtime.db)
    org_id = await orgs.create_org("Units", k=5)
    big, small = await orgs.create_unit(org_id, "Big"), await orgs.create_unit(org_id, "Small")
    for n in range(12):
        unit = small if n < 3 else big
        person = await staff_member(runtime, org_id, 7500 + n, unit)
        await add_session(
            runtime, org_id, "staff", person, DAY,
            [("lead_heading", 3.0, f"{'small' if unit == small else 'big'} note {n}")],
            unit_id=unit,
        )  # fmt: skip
    whole = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    texts = {c.text for c in whole.comments}
    assert texts == {f"big note {n}" for n in range(3, 12)}
    assert all(c.item_ids == ("leadership",) for c in whole.comments)
    unit = await compute_digest(runtime.db, runtime.frameworks, org_id, big, now=NOW)
    assert {c.text for c in unit.comments} == texts
    hidden = await compute_digest(runtime.db, runtime.frameworks, org_id, small, now=NOW)
    assert hidden.comments == () and hidden.item("leadership").staff.figure is None


async def test_service_users_open_comments_show_under_a_lens_that_scores_none_of_their_items(
    runtime: Runtime,
) -> None:
    """'What should we do better?' maps to continuous improvement, which no service-user
    question scores: its group is then the whole feedback's, as for a comment about no item."""
    orgs = OrgRepo(runtime.db)
    org_id = await orgs.create_org("Open", k=5)
    big, small = await orgs.create_unit(org_id, "Big"), await orgs.create_unit(org_id, "Small")
    for n in range(9):
        unit = small if n < 3 else big
        await add_session(
            runtime, org_id, "service_user", None, DAY,
            [("su_say", 4.0), ("su_better", None, f"idea {n}")], unit_id=unit,
        )  # fmt: skip
    whole = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert whole.lens == "equass"
    assert {c.text for c in whole.comments} == {f"idea {n}" for n in range(3, 9)}
    assert all("continuous-improvement" in c.item_ids for c in whole.comments)
    hidden = await compute_digest(runtime.db, runtime.frameworks, org_id, small, now=NOW)
    assert hidden.comments == ()


async def test_a_hidden_unit_cannot_be_subtracted_from_the_organisation(
    runtime: Runtime,
) -> None:
    orgs = OrgRepo(runtime.db)
    org_id = await orgs.create_org("Subtract", k=5)
    units = [await orgs.create_unit(org_id, name) for name in ("A", "B", "C")]
    sizes = {units[0]: 10, units[1]: 7, units[2]: 3}
    n = 0
    for unit, size in sizes.items():
        for _ in range(size):
            person = await staff_member(runtime, org_id, 7600 + n, unit)
            await add_session(
                runtime, org_id, "staff", person, DAY, [("lead_heading", 1.0 + n % 5)],
                unit_id=unit,
            )  # fmt: skip
            n += 1
    whole = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    per_unit = [
        (await compute_digest(runtime.db, runtime.frameworks, org_id, u, now=NOW))
        .item("leadership")
        .staff
        for u in units
    ]
    assert per_unit[2].status == "few"
    shown = [g for g in per_unit if g.figure is not None]
    # With the organisation shown, at least one more unit is withheld: two unknowns,
    # one equation, and the small unit's mean is left free.
    assert whole.item("leadership").staff.figure is None or len(shown) <= 1
    assert (
        any(g.status == "withheld" for g in per_unit)
        or whole.item("leadership").staff.status == "withheld"
    )


async def test_bad_organisation_unit_week_and_lens(runtime: Runtime, demo: DemoResult) -> None:
    other = await OrgRepo(runtime.db).create_org("Other")
    other_unit = await OrgRepo(runtime.db).create_unit(other, "North")
    with pytest.raises(NotFound, match="no organisation 999"):
        await compute_digest(runtime.db, runtime.frameworks, 999, now=NOW)
    with pytest.raises(NotFound, match="has no unit"):
        await compute_digest(runtime.db, runtime.frameworks, demo.org_id, other_unit, now=NOW)
    with pytest.raises(DigestError, match="has no week 60"):
        await compute_digest(runtime.db, runtime.frameworks, demo.org_id, None, "2026-W60")
    with pytest.raises(DigestError, match="unknown lens"):
        await compute_digest(runtime.db, runtime.frameworks, demo.org_id, lens="iso9001")


async def test_answers_from_an_older_script_version_count_for_the_same_item(
    runtime: Runtime,
) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Versions", k=3)
    loaded = await runtime.scripts.active("staff-pulse", org_id)
    old = loaded.version
    edited = old.source_text.replace(
        "I know where our organisation is heading.",
        "I know where our organisation is going.",
    )
    validation = runtime.scripts.validate(edited, "staff-pulse.yaml")
    assert validation.script is not None
    new = await runtime.scripts.publish(validation.script, edited, "yaml", None, None)
    assert new.id != old.id
    for n in range(4):
        person = await staff_member(runtime, org_id, 8000 + n)
        await add_session(
            runtime, org_id, "staff", person, DAY, [("lead_heading", 2.0 + n)],
            version_id=old.id if n < 2 else new.id,
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    figure = digest.item("leadership").staff.figure
    assert figure is not None and (figure.n, figure.mean) == (4, 3.5)


async def test_a_new_window_length_recuts_only_the_window_in_progress(runtime: Runtime) -> None:
    orgs = OrgRepo(runtime.db)
    org_id = await orgs.create_org("Longer", k=1)
    person = await staff_member(runtime, org_id, 8100)
    await add_session(runtime, org_id, "staff", person, DAY, [("lead_heading", 4.0)])
    before = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    segment = PLAN.change_from(TODAY, 13)
    assert segment.starts_on == WINDOW.end + timedelta(days=1)  # the window in progress
    await orgs.start_window_segment(org_id, segment.starts_on, segment.weeks)
    after = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert after.window == before.window  # the released window is untouched
    assert after.next_scores == segment.starts_on + timedelta(weeks=13)


async def test_the_window_reads_go_through_an_index(runtime: Runtime) -> None:
    params = {"org": 1, "framework": "equass", "start": "2026-09-07", "end": "2026-11-01"}

    def plan(conn: sqlite3.Connection, sql: str) -> str:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(row["detail"]) for row in rows)

    for sql in (STAFF_VALUES, FEEDBACK_STATS):
        detail = await runtime.db.run(lambda conn, sql=sql: plan(conn, sql))  # type: ignore[misc]
        assert "USING INDEX answers_by_day" in detail, detail
        assert "SCAN a\n" not in detail + "\n" and "SCAN answers" not in detail


# ---------------------------------------------------------------- helpers


async def add_session(
    runtime: Runtime,
    org_id: int,
    audience: str,
    person_id: int | None,
    day: date,
    answers: list[tuple[str, float | None]] | list[tuple[str, float | None, str | None]],
    *,
    version_id: int | None = None,
    unit_id: int | None = None,
) -> None:
    """A finished session with these (question, score[, comment]) answers, written directly."""
    script = "staff-pulse" if audience == "staff" else "service-user"
    loaded = await runtime.scripts.active(script, org_id)
    assert loaded.version is not None
    version = version_id or loaded.version.id
    period = iso_week(day)
    on = day.isoformat()
    rows = [(*answer, None)[:3] for answer in answers]

    def insert(conn: sqlite3.Connection) -> None:
        session = conn.execute(
            "INSERT INTO sessions (script_version_id, org_id, unit_id, audience, person_id,"
            " period, status, started_on, updated_on, completed_on)"
            " VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?) RETURNING id",
            (version, org_id, unit_id, audience, person_id, period, on, on, on),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO answers (session_id, question_id, score, comment, answered_on, org_id,"
            " unit_id, audience, period, script_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (session, q, score, comment, on, org_id, unit_id, audience, period, version)
                for q, score, comment in rows
            ],
        )

    await runtime.db.run(insert)


async def staff_member(
    runtime: Runtime, org_id: int, telegram_id: int, unit_id: int | None = None
) -> int:
    person = await PeopleRepo(runtime.db).get_or_create(telegram_id, "en")
    await PeopleRepo(runtime.db).add_membership(person.id, org_id, unit_id, "staff")
    return person.id
