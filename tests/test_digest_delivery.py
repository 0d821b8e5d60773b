"""Weekly delivery: the slot in the organisation's time zone, catch-up, and never twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.infra.config import Settings, load_settings
from bot.services.digests.digest_access import AccessDenied, can_view, viewable_scopes
from bot.services.digests.digest_delivery import (
    Delivery,
    deliver,
    deliver_due,
    digest_for,
    due_digests,
)
from bot.services.digests.digest_render import RenderedDigest
from bot.services.digests.digest_schedule import default_period, last_slot, slot_period
from bot.services.runtime import Runtime, open_runtime
from frameworks import default_frameworks
from storage.db import Database
from storage.digest_log import DigestRepo, Recipient
from storage.orgs import OrgRepo
from storage.people import Membership, PeopleRepo
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

# Monday 23 November 2026, 9:00 in Ljubljana is 8:00 UTC.
SLOT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


class Outbox:
    """A stand-in for the Telegram layer's send: records, or fails on demand."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int]] = []
        self.parts: list[tuple[int, str]] = []
        self.fail_for: set[int] = set()

    async def __call__(self, recipient: Recipient, rendered: RenderedDigest, part: str) -> None:
        await asyncio.sleep(0)
        if recipient.telegram_id in self.fail_for:
            raise ConnectionError("Telegram is unreachable")
        self.parts.append((recipient.telegram_id, part))
        if part == rendered.parts[-1]:  # the whole digest is out
            self.sent.append((recipient.telegram_id, recipient.language, len(rendered.messages)))


async def make_org(db: Database, name: str = "Home") -> int:
    """An organisation that existed long before the slots these tests look at."""
    org_id = await OrgRepo(db).create_org(name, "Europe/Ljubljana", "sl")
    await db.execute(
        "UPDATE organisations SET created_at = '2026-01-01T00:00:00Z' WHERE id = ?", (org_id,)
    )
    return org_id


async def manager(
    db: Database, org_id: int, telegram_id: int, unit_id: int | None = None, language: str = "sl"
) -> int:
    person = await PeopleRepo(db).get_or_create(telegram_id, language)
    await PeopleRepo(db).add_membership(person.id, org_id, unit_id, "manager")
    return person.id


def test_the_slot_and_the_week_it_reports() -> None:
    zone = "Europe/Ljubljana"
    assert last_slot(SLOT, zone, 0, 9) == SLOT
    assert slot_period(last_slot(SLOT, zone, 0, 9)) == "2026-W47"
    just_before = datetime(2026, 11, 23, 7, 59, tzinfo=UTC)
    assert last_slot(just_before, zone, 0, 9) == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    assert slot_period(last_slot(just_before, zone, 0, 9)) == "2026-W46"
    # A Friday 16:00 slot in Vilnius reports the week before, a complete one.
    friday = last_slot(datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "Europe/Vilnius", 4, 16)
    assert friday == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert slot_period(friday) == "2026-W47"
    # Summer time: 9:00 in Ljubljana is 7:00 UTC.
    assert last_slot(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), zone, 0, 9) == datetime(
        2026, 6, 29, 7, 0, tzinfo=UTC
    )
    # Late Sunday evening UTC is already Monday in Tokyo, so its last week is complete.
    assert default_period(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), "Asia/Tokyo") == "2026-W47"
    assert default_period(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), "Europe/Lisbon") == "2026-W46"


async def test_catch_up_after_downtime_then_nothing_twice_even_after_a_restart(
    settings: Settings,
) -> None:
    frameworks = default_frameworks()
    outbox = Outbox()
    async with open_runtime(settings, CLOCK) as runtime:
        org_id = await make_org(runtime.db)
        await manager(runtime.db, org_id, 111)
        await manager(runtime.db, org_id, 222, language="de")
        # Down over the Monday slot; up again on Wednesday.
        wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        due = await due_digests(runtime.db, wednesday)
        assert [(d.org.id, d.unit_id, d.period, len(d.recipients)) for d in due] == [
            (org_id, None, "2026-W47", 2)
        ]
        result = await deliver(runtime.db, frameworks, due[0], outbox, now=wednesday, pace=0)
        assert (result.sent, result.already_sent, result.failed) == (2, 0, 0)
        assert sorted(outbox.sent) == [(111, "sl", 1), (222, "de", 1)]
        assert await due_digests(runtime.db, wednesday) == []

    async with open_runtime(settings, CLOCK) as runtime:  # a restart
        later = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
        assert await due_digests(runtime.db, later) == []
        again = await deliver_due(runtime.db, frameworks, outbox, now=later, pace=0)
        assert (again.sent, again.already_sent) == (0, 0)
        # A stale list of what was due (say a job that started before the restart) sends nothing.
        assert (await deliver(runtime.db, frameworks, due[0], outbox, now=later, pace=0)).sent == 0
        assert len(outbox.sent) == 2
        # The next Monday brings the next week.
        monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        assert [d.period for d in await due_digests(runtime.db, monday)] == ["2026-W48"]


async def test_two_jobs_at_once_send_each_digest_once(runtime: Runtime) -> None:
    org_id = await make_org(runtime.db)
    for telegram_id in (1, 2, 3):
        await manager(runtime.db, org_id, telegram_id)
    outbox = Outbox()
    results = await asyncio.gather(
        *(deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0) for _ in range(3))
    )
    assert sorted(t for t, _l, _n in outbox.sent) == [1, 2, 3]
    assert sum(r.sent for r in results) == 3


async def test_a_failed_send_is_tried_again_next_run(runtime: Runtime) -> None:
    org_id = await make_org(runtime.db)
    person = await manager(runtime.db, org_id, 42)
    outbox = Outbox()
    outbox.fail_for.add(42)
    first = await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0)
    assert (first.sent, first.failed) == (0, 1)
    assert not await DigestRepo(runtime.db).was_sent(org_id, None, "2026-W47", person)
    outbox.fail_for.clear()
    second = await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0)
    assert (second.sent, second.failed) == (1, 0)
    assert await DigestRepo(runtime.db).was_sent(org_id, None, "2026-W47", person)


async def test_who_gets_which_digest(runtime: Runtime) -> None:
    org_id = await make_org(runtime.db)
    north = await OrgRepo(runtime.db).create_unit(org_id, "North")
    south = await OrgRepo(runtime.db).create_unit(org_id, "South")
    await manager(runtime.db, org_id, 1)  # the whole organisation
    await manager(runtime.db, org_id, 2, north)  # one unit
    both = await manager(runtime.db, org_id, 3)  # the whole organisation and a unit:
    await PeopleRepo(runtime.db).add_membership(both, org_id, south, "manager")  # one digest
    staff = await PeopleRepo(runtime.db).get_or_create(4, "en")
    await PeopleRepo(runtime.db).add_membership(staff.id, org_id, None, "staff")
    quiet = await manager(runtime.db, org_id, 5)
    await PeopleRepo(runtime.db).set_active(quiet, False)  # used /stop
    # An organisation created after its last slot waits for the next one.
    await OrgRepo(runtime.db).create_org("New")

    due = await due_digests(runtime.db, SLOT)
    assert [(d.unit_id, [r.telegram_id for r in d.recipients]) for d in due] == [
        (None, [1, 3]),
        (north, [2]),
    ]


async def test_an_unknown_time_zone_skips_only_that_organisation(runtime: Runtime) -> None:
    broken = await make_org(runtime.db, "Broken")
    await OrgRepo(runtime.db).update_settings(broken, timezone="Mars/Olympus")
    fine = await make_org(runtime.db, "Fine")
    await manager(runtime.db, broken, 1)
    await manager(runtime.db, fine, 2)
    assert [d.org.id for d in await due_digests(runtime.db, SLOT)] == [fine]


def test_access_rules() -> None:
    manager_of_1 = [Membership(1, 1, None, "manager")]
    unit_manager = [Membership(2, 1, 10, "manager")]
    admin_of_2 = [Membership(3, 2, None, "admin")]
    global_admin = [Membership(4, None, None, "admin")]
    staff_of_1 = [Membership(5, 1, None, "staff")]

    assert can_view(manager_of_1, 1, None) and can_view(manager_of_1, 1, 10)
    assert not can_view(manager_of_1, 2, None)  # another organisation
    assert can_view(unit_manager, 1, 10)
    assert not can_view(unit_manager, 1, None)  # not the whole organisation
    assert not can_view(unit_manager, 1, 11)  # not another unit
    assert can_view(admin_of_2, 2, None) and not can_view(admin_of_2, 1, None)
    assert can_view(global_admin, 1, None) and can_view(global_admin, 99, 5)
    assert not can_view(staff_of_1, 1, None)
    assert not can_view([], 1, None)
    assert viewable_scopes(unit_manager + staff_of_1 + admin_of_2) == [(1, 10), (2, None)]


async def test_a_manager_cannot_read_another_organisations_digest(runtime: Runtime) -> None:
    mine = await make_org(runtime.db, "Mine")
    theirs = await make_org(runtime.db, "Theirs")
    person = await manager(runtime.db, mine, 1)
    memberships = await PeopleRepo(runtime.db).memberships(person)
    rendered = await digest_for(
        runtime.db, runtime.frameworks, memberships, mine, None, "2026-W47", "sl", now=SLOT
    )
    assert "Mine" in rendered.messages[0]
    assert (rendered.org_id, rendered.unit_id, rendered.period) == (mine, None, "2026-W47")
    assert rendered.weak_items == ()  # no answers, so nothing ranks as weak
    with pytest.raises(AccessDenied):
        await digest_for(
            runtime.db, runtime.frameworks, memberships, theirs, None, "2026-W47", "sl", now=SLOT
        )


async def test_a_broken_digest_does_not_stop_the_others(runtime: Runtime) -> None:
    broken = await make_org(runtime.db, "Broken")
    await OrgRepo(runtime.db).update_settings(broken, lens="iso9001")
    fine = await make_org(runtime.db, "Fine")
    await manager(runtime.db, broken, 1)
    await manager(runtime.db, fine, 2)
    outbox = Outbox()
    result = await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0)
    assert (result.sent, result.failed) == (1, 1)
    assert [t for t, _l, _n in outbox.sent] == [2]


class FailingOnce(Outbox):
    """Fails the first time it is given `part`, then delivers."""

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part = part
        self.failed = False

    async def __call__(self, recipient: Recipient, rendered: RenderedDigest, part: str) -> None:
        if part == self.part and not self.failed:
            self.failed = True
            raise ConnectionError("the upload broke off")
        await super().__call__(recipient, rendered, part)


@pytest.mark.parametrize("failing", ["message 1", "chart", "report"])
async def test_a_failed_part_is_retried_alone_even_after_a_restart(
    settings: Settings, failing: str
) -> None:
    outbox = FailingOnce(failing)
    async with open_runtime(settings, CLOCK) as runtime:
        org_id = await make_org(runtime.db)
        await manager(runtime.db, org_id, 111)
        first = await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0)
        assert (first.sent, first.failed) == (0, 1)
        before = list(outbox.parts)
        assert (111, failing) not in before
    async with open_runtime(settings, CLOCK) as runtime:  # a restart before the retry
        again = await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0)
        assert (again.sent, again.failed) == (1, 0)
        retried = outbox.parts[len(before) :]
        assert retried[0] == (111, failing)  # the failed part first, alone...
        assert not set(retried) & set(before)  # ...and nothing delivered is sent again
        parts = [part for _who, part in outbox.parts]
        assert len(parts) == len(set(parts))  # every part exactly once in all
        assert await deliver_due(runtime.db, runtime.frameworks, outbox, now=SLOT, pace=0) == (
            Delivery(0, 0, 0)
        )
