"""Improvement actions and the digest send log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from storage import ActionRepo, Database, DigestRepo, NotFound, OrgRepo, PeopleRepo
from storage.connection import INTEGRITY_ERRORS
from tests.fake_clock import FakeClock

CLOCK = FakeClock()


@pytest.fixture
async def db(db_location: str) -> AsyncIterator[Database]:
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


@pytest.fixture
async def org_id(db: Database) -> int:
    return await OrgRepo(db).create_org("Org", "Europe/Ljubljana", "en", 5)


async def test_create_and_get_an_action(db: Database, org_id: int) -> None:
    actions = ActionRepo(db)
    unit_id = await OrgRepo(db).create_unit(org_id, "North")
    action = await actions.create(
        org_id, unit_id, "equass", "participation", "Residents' council", "Maja",
        date(2026, 12, 31), 2.8, None,
    )  # fmt: skip
    assert (action.status, action.baseline, action.due_on, action.done_on) == (
        "open",
        2.8,
        date(2026, 12, 31),
        None,
    )
    assert await actions.get(action.id) == action
    assert await actions.get(action.id + 1) is None


async def test_list_filters_and_orders_by_due_date(db: Database, org_id: int) -> None:
    actions = ActionRepo(db)
    north = await OrgRepo(db).create_unit(org_id, "North")
    late = await actions.create(
        org_id, None, "equass", "rights", "Late", None, date(2027, 3, 1), None, None
    )
    undated = await actions.create(
        org_id, north, "equass", "rights", "Someday", None, None, None, None
    )
    soon = await actions.create(
        org_id, north, "equass", "rights", "Soon", None, date(2026, 12, 1), None, None
    )
    await actions.set_status(late.id, "started", date(2026, 11, 23))

    assert [a.id for a in await actions.list(org_id)] == [soon.id, late.id, undated.id]
    assert [a.id for a in await actions.list(org_id, north)] == [soon.id, undated.id]
    assert [a.id for a in await actions.list(org_id, statuses=["started"])] == [late.id]
    assert await actions.list(org_id, statuses=[]) == []


async def test_done_on_follows_the_status(db: Database, org_id: int) -> None:
    actions = ActionRepo(db)
    action = await actions.create(org_id, None, "equass", "rights", "Do it", None, None, None, None)
    done = await actions.set_status(action.id, "done", date(2026, 11, 23))
    assert (done.status, done.done_on) == ("done", date(2026, 11, 23))
    again = await actions.set_status(action.id, "done", date(2026, 11, 30))
    assert again.done_on == date(2026, 11, 23)
    reopened = await actions.set_status(action.id, "started", date(2026, 12, 1))
    assert (reopened.status, reopened.done_on) == ("started", None)
    with pytest.raises(NotFound):
        await actions.set_status(9999, "done", date(2026, 11, 23))


async def test_an_unknown_status_is_refused(db: Database, org_id: int) -> None:
    actions = ActionRepo(db)
    action = await actions.create(org_id, None, "equass", "rights", "Do it", None, None, None, None)
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await actions.set_status(action.id, "finished", date(2026, 11, 23))  # type: ignore[arg-type]
    assert (await actions.get(action.id)).status == "open"


async def test_a_digest_is_marked_sent_once(db: Database, org_id: int) -> None:
    digests = DigestRepo(db)
    manager = await PeopleRepo(db).get_or_create(5, "en")
    unit_id = await OrgRepo(db).create_unit(org_id, "North")
    assert await digests.was_sent(org_id, None, "2026-W48", manager.id) is False
    assert await digests.mark_sent(org_id, None, "2026-W48", manager.id) is True
    assert await digests.mark_sent(org_id, None, "2026-W48", manager.id) is False
    assert await digests.was_sent(org_id, None, "2026-W48", manager.id) is True
    # Another unit or another week is another digest.
    assert await digests.was_sent(org_id, unit_id, "2026-W48", manager.id) is False
    assert await digests.mark_sent(org_id, unit_id, "2026-W48", manager.id) is True
    assert await digests.mark_sent(org_id, None, "2026-W49", manager.id) is True
