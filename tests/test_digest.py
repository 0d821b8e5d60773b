"""Digest numbers: checked against a plain-Python count over the stored rows, under every lens."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.digests.demo_data import DemoResult, create_demo
from bot.services.digests.digest_compute import DigestError, compute_digest
from bot.services.digests.digest_model import Digest
from bot.services.digests.digest_render import digest_json, plain_text, report_html, telegram_html
from bot.services.periods import parse_period, previous_period
from bot.services.runtime import Runtime, open_runtime
from storage.errors import NotFound
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from storage.reports import ITEM_GROUPS
from tests.fake_clock import FakeClock

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLOCK = FakeClock(NOW)
LENSES = ("equass", "equass-revised", "cz-sqss", "eqalin")


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


@pytest.fixture
async def demo(runtime: Runtime) -> DemoResult:
    return await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=7)


Groups = dict[tuple[str, str, str], tuple[int, float]]  # (period, item, audience) -> (n, mean)


def count_by_hand(conn: sqlite3.Connection, org_id: int, unit_id: int | None, lens: str) -> Groups:
    """Respondents and mean per item and audience, by plain Python over every answer row."""
    links: dict[tuple[int, str], list[str]] = defaultdict(list)
    for version, question, item in conn.execute(
        "SELECT script_version_id, question_id, item_id FROM question_items WHERE framework = ?",
        (lens,),
    ):
        links[(version, question)].append(item)
    scores: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    people: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for period, audience, question, version, score, session, person, unit in conn.execute(
        "SELECT a.period, a.audience, a.question_id, a.script_version_id, a.score, a.session_id,"
        " s.person_id, a.unit_id FROM answers a JOIN sessions s ON s.id = a.session_id"
        " WHERE a.org_id = ?",
        (org_id,),
    ):
        if score is None or (unit_id is not None and unit != unit_id):
            continue
        for item in links[(version, question)]:
            scores[(period, item, audience)].append(score)
            people[(period, item, audience)].add(person if person is not None else -session)
    return {key: (len(people[key]), sum(values) / len(values)) for key, values in scores.items()}


def shown(groups: Groups, key: tuple[str, str, str], k: int) -> float | None:
    n, mean = groups.get(key, (0, 0.0))
    return round(mean, 2) if n >= k else None


async def hand_count(runtime: Runtime, org_id: int, unit_id: int | None, lens: str) -> Groups:
    return await runtime.db.run(lambda conn: count_by_hand(conn, org_id, unit_id, lens))


@pytest.mark.parametrize("lens", LENSES)
async def test_every_item_matches_a_count_by_hand(
    runtime: Runtime, demo: DemoResult, lens: str
) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, lens=lens, now=NOW)
    groups = await hand_count(runtime, demo.org_id, None, lens)
    framework = runtime.frameworks.get(lens)

    assert digest.period == demo.last_period == "2026-W47"
    assert [i.item_id for i in digest.items] == [
        i.id for i in sorted(framework.items.values(), key=lambda i: i.number)
    ]
    checked = 0
    for item in digest.items:
        for audience, group in (("staff", item.staff), ("service_user", item.service_users)):
            key = (digest.period, item.item_id, audience)
            before = (digest.previous_period, item.item_id, audience)
            n = groups.get(key, (0, 0.0))[0]
            assert group.n == n
            assert group.mean == shown(groups, key, digest.k)
            assert group.suppressed == (0 < n < digest.k)
            assert group.previous_mean == shown(groups, before, digest.k)
            if group.mean is not None and group.previous_mean is not None:
                assert group.delta == round(group.mean - group.previous_mean, 2)
            else:
                assert group.delta is None
            checked += group.mean is not None
    assert checked >= 3  # the demo has real numbers under every lens


async def test_counts_of_people(runtime: Runtime, demo: DemoResult) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)

    def by_hand(conn: sqlite3.Connection) -> tuple[int, int, int]:
        staff = conn.execute(
            "SELECT count(DISTINCT s.person_id) FROM answers a JOIN sessions s"
            " ON s.id = a.session_id WHERE a.org_id = ? AND a.period = ? AND a.audience = 'staff'"
            " AND a.skipped = 0",
            (demo.org_id, digest.period),
        ).fetchone()[0]
        users = conn.execute(
            "SELECT count(DISTINCT a.session_id) FROM answers a WHERE a.org_id = ?"
            " AND a.period = ? AND a.audience = 'service_user' AND a.skipped = 0",
            (demo.org_id, digest.period),
        ).fetchone()[0]
        before = conn.execute(
            "SELECT count(DISTINCT s.person_id) FROM answers a JOIN sessions s"
            " ON s.id = a.session_id WHERE a.org_id = ? AND a.period = ? AND a.audience = 'staff'"
            " AND a.skipped = 0",
            (demo.org_id, digest.previous_period),
        ).fetchone()[0]
        return staff, users, before

    staff, users, before = await runtime.db.run(by_hand)
    assert (digest.staff_answered, digest.service_user_responses) == (staff, users)
    assert digest.previous_staff_answered == before
    assert digest.staff_enrolled == 40
    assert 0 < digest.staff_answered <= 40
    assert digest.service_user_responses > 20


async def test_ranking_and_gaps_follow_the_scores(runtime: Runtime, demo: DemoResult) -> None:
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)
    scored = [i for i in digest.items if i.score is not None]
    for item in scored:
        means = [g.mean for g in (item.staff, item.service_users) if g.mean is not None]
        assert item.score == round(sum(means) / len(means), 2)
    strongest = [digest.item(i).score for i in digest.strongest]
    weakest = [digest.item(i).score for i in digest.weakest]
    assert len(strongest) == len(weakest) == 3
    assert strongest == sorted(strongest, reverse=True)
    assert weakest == sorted(weakest)
    assert min(strongest) >= max(i.score for i in scored if i.item_id not in digest.strongest)
    assert max(weakest) <= min(
        i.score for i in scored if i.item_id not in (*digest.weakest, *digest.strongest)
    )
    # The demo's story: staff rate rights far above what service users say.
    rights = digest.item("rights")
    assert rights.gap is not None and rights.gap >= 0.75
    assert rights.gap == round(rights.staff.mean - rights.service_users.mean, 2)  # type: ignore[operator]
    assert digest.gaps[0] == "rights"
    assert all(digest.item(i).gap >= 0.75 for i in digest.gaps)  # type: ignore[operator]

    wide = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW, gap=3.0)
    assert wide.gaps == ()


async def test_a_unit_digest_counts_only_that_unit(runtime: Runtime, demo: DemoResult) -> None:
    unit_id, unit_name = demo.units[0]
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, unit_id, now=NOW)
    groups = await hand_count(runtime, demo.org_id, unit_id, "equass")
    assert digest.unit_name == unit_name
    for item in digest.items:
        key = (digest.period, item.item_id, "service_user")
        assert item.service_users.n == groups.get(key, (0, 0.0))[0]
        assert item.service_users.mean == shown(groups, key, digest.k)
    assert digest.staff_enrolled == len([i for i in range(40) if i % 3 == 0])


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


async def add_session(
    runtime: Runtime,
    org_id: int,
    audience: str,
    person_id: int | None,
    period: str,
    answers: list[tuple[str, float | None, str | None]],
    *,
    version_id: int | None = None,
) -> None:
    """A finished session with these (question, score, comment) answers, written directly."""
    script = "staff-pulse" if audience == "staff" else "service-user"
    version = version_id or (await runtime.scripts.active(script, org_id)).version.id
    day = parse_period(period)[0].isoformat()

    def insert(conn: sqlite3.Connection) -> None:
        session = conn.execute(
            "INSERT INTO sessions (script_version_id, org_id, audience, person_id, period,"
            " status, started_on, updated_on, completed_on)"
            " VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?) RETURNING id",
            (version, org_id, audience, person_id, period, day, day, day),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO answers (session_id, question_id, score, comment, answered_on, org_id,"
            " audience, period, script_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (session, q, score, comment, day, org_id, audience, period, version)
                for q, score, comment in answers
            ],
        )

    await runtime.db.run(insert)


async def staff_member(runtime: Runtime, org_id: int, telegram_id: int) -> int:
    person = await PeopleRepo(runtime.db).get_or_create(telegram_id, "en")
    await PeopleRepo(runtime.db).add_membership(person.id, org_id, None, "staff")
    return person.id


async def small_org(runtime: Runtime, staff: int, users: int) -> tuple[int, Digest]:
    """An organisation where `staff` people rated leadership 2 and wrote, as did `users`."""
    org_id = await OrgRepo(runtime.db).create_org("Small <&> Home", k=5)
    for n in range(staff):
        person = await staff_member(runtime, org_id, 5000 + n)
        await add_session(
            runtime, org_id, "staff", person, "2026-W47",
            [("lead_direction", 2.0, f"staff secret {n}"), ("lead_values", 4.0, None)],
        )  # fmt: skip
    for n in range(users):
        await add_session(
            runtime, org_id, "service_user", None, "2026-W47",
            [("su_respect", 3.0, None), ("su_better", None, f"user note {n}")],
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    return org_id, digest


async def test_a_group_of_k_minus_one_shows_no_mean_and_no_comment(runtime: Runtime) -> None:
    _org, digest = await small_org(runtime, staff=4, users=5)
    leadership = digest.item("leadership")
    assert (leadership.staff.n, leadership.staff.mean, leadership.staff.suppressed) == (
        4,
        None,
        True,
    )
    assert leadership.score is None and leadership.gap is None
    assert not any(c.audience == "staff" for c in digest.comments)
    assert sorted(c.text for c in digest.comments) == [f"user note {n}" for n in range(5)]
    rights = digest.item("rights")
    assert (rights.service_users.n, rights.service_users.mean) == (5, 3.0)

    # The staff mean (3.0 = (2 + 4) / 2) and the staff comments appear in no output at all.
    outputs = [
        digest_json(digest),
        telegram_html(digest, runtime.frameworks, "en"),
        plain_text(digest, runtime.frameworks, "en"),
        report_html(digest, runtime.frameworks, "en", chart_png=b""),
    ]
    for output in outputs:
        assert "staff secret" not in output
        assert "user note 0" in output
    assert "fewer than 5" in outputs[1]
    staff_means = [
        g["staff"]["mean"] for g in json.loads(outputs[0])["items"] if g["staff"]["n"] > 0
    ]
    assert staff_means == [None]


async def test_a_group_of_k_shows_its_mean_and_comments(runtime: Runtime) -> None:
    _org, digest = await small_org(runtime, staff=5, users=5)
    leadership = digest.item("leadership")
    assert (leadership.staff.n, leadership.staff.mean) == (5, 3.0)
    assert sum(c.audience == "staff" for c in digest.comments) == 5


async def test_comments_of_a_suppressed_item_are_withheld(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Mixed", k=5)
    for n in range(6):
        person = await staff_member(runtime, org_id, 6000 + n)
        # Everyone answers leadership; only two of them answer (and comment on) ethics.
        answers = [("lead_direction", 4.0, "about leadership")]
        if n < 2:
            answers.append(("ethics_code", 1.0, f"ethics worry {n}"))
        await add_session(runtime, org_id, "staff", person, "2026-W47", answers)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    assert digest.item("ethics").staff.suppressed
    assert [c.text for c in digest.comments] == ["about leadership"] * 6


async def test_one_person_with_two_checkins_is_one_respondent(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Twice", k=2)
    person = await staff_member(runtime, org_id, 7000)
    for _ in range(2):
        await add_session(runtime, org_id, "staff", person, "2026-W47", [("lead_info", 5.0, None)])
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    assert digest.item("leadership").staff.n == 1
    assert digest.item("leadership").staff.mean is None
    assert digest.staff_answered == 1


async def test_answers_from_an_older_script_version_count_for_the_same_item(
    runtime: Runtime,
) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Versions", k=3)
    old = (await runtime.scripts.active("staff-pulse", org_id)).version
    loaded = await runtime.scripts.active("staff-pulse", org_id)
    edited = loaded.version.source_text.replace(
        "I know where our organisation is heading and why.",
        "I know where our organisation is going, and why.",
    )
    validation = runtime.scripts.validate(edited, "staff-pulse.yaml")
    assert validation.script is not None
    new = await runtime.scripts.publish(validation.script, edited, "yaml", None, None)
    assert new.id != old.id
    for n in range(4):
        person = await staff_member(runtime, org_id, 8000 + n)
        version = old.id if n < 2 else new.id
        await add_session(
            runtime, org_id, "staff", person, "2026-W47", [("lead_direction", 2.0 + n, None)],
            version_id=version,
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    assert (digest.item("leadership").staff.n, digest.item("leadership").staff.mean) == (4, 3.5)


async def test_comments_are_scrubbed_and_escaped(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Scrub", k=1)
    await add_session(
        runtime, org_id, "service_user", None, "2026-W47",
        [("su_better", None,
          "  Call me on +386 41 555 123\nor ana.novak@example.si <b>now</b> & thanks  ")],
    )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    assert [c.text for c in digest.comments] == ["Call me on […] or […] <b>now</b> & thanks"]
    message = telegram_html(digest, runtime.frameworks, "en")
    assert "Call me on […] or […] &lt;b&gt;now&lt;/b&gt; &amp; thanks" in message
    assert "555" not in message and "example.si" not in message


async def test_the_digest_query_reads_through_an_index(runtime: Runtime) -> None:
    params = {"org": 1, "unit": None, "framework": "equass", "period": "2026-W47"}
    params["previous"] = previous_period("2026-W47")

    def plan(conn: sqlite3.Connection) -> str:
        rows = conn.execute("EXPLAIN QUERY PLAN " + ITEM_GROUPS, params).fetchall()
        return "\n".join(str(row["detail"]) for row in rows)

    detail = await runtime.db.run(plan)
    assert "USING INDEX answers_digest" in detail or "USING COVERING INDEX" in detail
    assert "SCAN a\n" not in detail + "\n" and "SCAN answers" not in detail
