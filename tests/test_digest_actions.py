"""Improvement actions: plan from a weak item, do, check the score against the baseline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.digests.digest_access import AccessDenied
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_render import plain_text
from bot.services.digests.improvement_actions import (
    ActionError,
    check_action,
    list_actions,
    plan_action,
    set_action_status,
    what_we_changed,
)
from bot.services.runtime import Runtime, open_runtime
from storage.orgs import OrgRepo
from storage.people import Membership, PeopleRepo
from tests.fake_clock import FakeClock
from tests.test_digest import add_session

CLOCK = FakeClock()

PLANNED = date(2026, 10, 5)  # Monday of 2026-W41
# Inside the window the digests released by then show: 2026-W29 to W36 when the action is
# planned, W37 to W44 by 2026-W47.
BEFORE, AFTER = date(2026, 8, 5), date(2026, 10, 20)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


async def leadership_week(runtime: Runtime, org_id: int, day: date, score: float) -> None:
    """Three staff members rate leadership `score` on `day`."""
    for n in range(3):
        person = await PeopleRepo(runtime.db).get_or_create(9000 + n, "en")
        await PeopleRepo(runtime.db).add_membership(person.id, org_id, None, "staff")
        await add_session(runtime, org_id, "staff", person.id, day, [("lead_support", score)])


@pytest.fixture
async def org(runtime: Runtime) -> int:
    org_id = await OrgRepo(runtime.db).create_org("Loop", k=3)
    await leadership_week(runtime, org_id, BEFORE, 2.0)
    return org_id


def managing(org_id: int, unit_id: int | None = None) -> list[Membership]:
    return [Membership(1, org_id, unit_id, "manager")]


async def test_plan_do_check(runtime: Runtime, org: int) -> None:
    action = await plan_action(
        runtime.db, runtime.frameworks, managing(org), org_id=org, unit_id=None,
        framework="equass", item_id="leadership", title="  Monthly team\nmeeting  ",
        owner="Head of care", weeks=4, today=PLANNED, created_by=None,
    )  # fmt: skip
    assert (action.title, action.owner, action.status) == (
        "Monthly team meeting",
        "Head of care",
        "open",
    )
    assert action.due_on == PLANNED + timedelta(weeks=4)
    assert action.baseline == 2.0  # leadership in the window released when it was planned
    assert [a.id for a in await list_actions(runtime.db, managing(org), org)] == [action.id]

    started = await set_action_status(runtime.db, managing(org), action.id, "started", PLANNED)
    assert started.status == "started"
    done = await set_action_status(runtime.db, managing(org), action.id, "done", date(2026, 11, 16))
    assert (done.status, done.done_on) == ("done", date(2026, 11, 16))
    assert await list_actions(runtime.db, managing(org), org) == []
    assert len(await list_actions(runtime.db, managing(org), org, include_closed=True)) == 1

    await leadership_week(runtime, org, AFTER, 4.0)
    check = await check_action(runtime.db, runtime.frameworks, done, "2026-W47")
    assert (check.baseline, check.now, check.change) == (2.0, 4.0, 2.0)

    digest = await compute_digest(runtime.db, runtime.frameworks, org, None, "2026-W47")
    [line] = digest.actions
    assert (line.kind, line.baseline, line.now, line.change) == ("done", 2.0, 4.0, 2.0)
    text = plain_text(digest, runtime.frameworks, "en")
    assert "✅ Check: Monthly team meeting · Leadership: 2.0 → 4.0 (+2.0)" in text

    lines = await what_we_changed(runtime.db, org, None, date(2026, 11, 25))
    assert lines == ["✓ Monthly team meeting"]
    assert "Head of care" not in lines[0]


async def test_open_actions_in_the_digest_by_due_date(runtime: Runtime, org: int) -> None:
    today = date(2026, 11, 25)
    plans = [
        ("Overdue", 2, date(2026, 11, 2)),
        ("Soon", 2, date(2026, 11, 23)),
        ("Later", 8, today),
    ]
    for title, weeks, planned in plans:
        await plan_action(
            runtime.db, runtime.frameworks, managing(org), org_id=org, unit_id=None,
            framework="equass", item_id="leadership", title=title, owner=None, weeks=weeks,
            today=planned,
        )  # fmt: skip
    digest = await compute_digest(
        runtime.db, runtime.frameworks, org, None, "2026-W47",
        now=datetime(2026, 11, 25, 12, tzinfo=UTC),
    )  # fmt: skip
    assert [(a.title, a.kind) for a in digest.actions] == [
        ("Overdue", "overdue"),
        ("Soon", "due_soon"),
        ("Later", "open"),
    ]
    text = plain_text(digest, runtime.frameworks, "en")
    assert "⏰ Overdue: Overdue · due 16 Nov 2026" in text
    assert "🔜 Due soon: Soon · due 7 Dec 2026" in text


async def test_what_we_changed_shows_recent_done_actions_of_the_organisation(
    runtime: Runtime, org: int
) -> None:
    other = await OrgRepo(runtime.db).create_org("Other")
    north = await OrgRepo(runtime.db).create_unit(org, "North")
    south = await OrgRepo(runtime.db).create_unit(org, "South")
    today = date(2026, 11, 25)
    cases = [
        (org, None, "Quieter evenings", "done", date(2026, 11, 20)),
        (org, north, "New garden benches", "done", date(2026, 11, 10)),
        (org, south, "South only", "done", date(2026, 11, 12)),
        (org, None, "Dropped idea", "dropped", date(2026, 11, 20)),
        (org, None, "Long ago", "done", date(2026, 5, 1)),
        (other, None, "Another home", "done", date(2026, 11, 20)),
    ]
    admin = [Membership(1, None, None, "admin")]
    for org_id, unit_id, title, status, on in cases:
        action = await plan_action(
            runtime.db, runtime.frameworks, admin, org_id=org_id, unit_id=unit_id,
            framework="equass", item_id="rights", title=title, owner="Maja", weeks=2,
            today=on - timedelta(days=30),
        )  # fmt: skip
        await set_action_status(runtime.db, admin, action.id, status, on)

    assert await what_we_changed(runtime.db, org, north, today) == [
        "✓ Quieter evenings",
        "✓ New garden benches",
    ]
    assert len(await what_we_changed(runtime.db, org, None, today, limit=5)) == 3
    assert await what_we_changed(runtime.db, other, None, today) == ["✓ Another home"]


async def test_actions_of_another_organisation_are_refused(runtime: Runtime, org: int) -> None:
    other = await OrgRepo(runtime.db).create_org("Other")
    action = await plan_action(
        runtime.db, runtime.frameworks, managing(org), org_id=org, unit_id=None,
        framework="equass", item_id="rights", title="Ours", owner=None, weeks=2, today=PLANNED,
    )  # fmt: skip
    with pytest.raises(AccessDenied):
        await set_action_status(runtime.db, managing(other), action.id, "done", PLANNED)
    with pytest.raises(AccessDenied):
        await list_actions(runtime.db, managing(other), org)
    with pytest.raises(AccessDenied):
        await plan_action(
            runtime.db, runtime.frameworks, managing(other), org_id=org, unit_id=None,
            framework="equass", item_id="rights", title="Theirs", owner=None, weeks=2,
            today=PLANNED,
        )  # fmt: skip
    unit = await OrgRepo(runtime.db).create_unit(org, "North")
    with pytest.raises(AccessDenied):  # a unit manager plans only for their unit
        await plan_action(
            runtime.db, runtime.frameworks, managing(org, unit), org_id=org, unit_id=None,
            framework="equass", item_id="rights", title="Whole org", owner=None, weeks=2,
            today=PLANNED,
        )  # fmt: skip
    assert (await set_action_status(runtime.db, managing(org), action.id, "done", PLANNED)).done_on


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"weeks": 3}, "due", "weeks away"),
        ({"title": "   "}, "no_title", "needs a title"),
        ({"item_id": "nonsense"}, "unknown_item", "no item"),
        ({"framework": "iso9001"}, "unknown_item", "no item"),
        ({"period": "2026-W99"}, "bad_week", "has no week 99"),
    ],
)
async def test_a_bad_plan_is_refused(
    runtime: Runtime, org: int, change: dict[str, object], code: str, message: str
) -> None:
    arguments: dict[str, object] = {
        "org_id": org, "unit_id": None, "framework": "equass", "item_id": "rights",
        "title": "Fine", "owner": None, "weeks": 2, "today": PLANNED,
    }  # fmt: skip
    arguments.update(change)
    with pytest.raises(ActionError, match=message) as refused:
        await plan_action(runtime.db, runtime.frameworks, managing(org), **arguments)  # type: ignore[arg-type]
    assert refused.value.code == code


async def test_a_unit_of_another_organisation_and_a_repeated_status_are_refused(
    runtime: Runtime, org: int
) -> None:
    other = await OrgRepo(runtime.db).create_org("Other")
    their_unit = await OrgRepo(runtime.db).create_unit(other, "North")
    with pytest.raises(ActionError, match="has no unit"):
        await plan_action(
            runtime.db, runtime.frameworks, managing(org), org_id=org, unit_id=their_unit,
            framework="equass", item_id="rights", title="x", owner=None, weeks=2, today=PLANNED,
        )  # fmt: skip
    action = await plan_action(
        runtime.db, runtime.frameworks, managing(org), org_id=org, unit_id=None,
        framework="equass", item_id="rights", title="x", owner=None, weeks=2, today=PLANNED,
    )  # fmt: skip
    with pytest.raises(ActionError, match="already open") as refused:
        await set_action_status(runtime.db, managing(org), action.id, "open", PLANNED)
    assert refused.value.code == "unchanged"
    # An id that does not exist is refused like another organisation's: nothing to probe.
    with pytest.raises(AccessDenied, match="no action"):
        await set_action_status(runtime.db, managing(org), action.id + 100, "done", PLANNED)
