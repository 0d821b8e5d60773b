"""Organisations, units, people and their roles, and /forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from storage import (
    AlreadyExists,
    AnswerRow,
    Database,
    DigestRepo,
    Membership,
    NotFound,
    OrgRepo,
    PeopleRepo,
    ScriptRepo,
    SessionRepo,
)
from storage.connection import INTEGRITY_ERRORS
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

TODAY = date(2026, 11, 23)


@pytest.fixture
async def db(db_location: str) -> AsyncIterator[Database]:
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


async def test_create_org_uses_the_schema_defaults(db: Database) -> None:
    orgs = OrgRepo(db)
    org_id = await orgs.create_org("Dom Ljubljana", "Europe/Ljubljana", "sl", 5)
    org = await orgs.get_org(org_id)
    assert org is not None
    assert (org.name, org.language, org.k_threshold, org.lens) == (
        "Dom Ljubljana",
        "sl",
        5,
        "equass",
    )
    assert (org.checkin_weekday, org.checkin_hour, org.retention_months) == (0, 9, 24)
    assert org.is_demo is False
    assert org.created_at.tzinfo is not None


async def test_get_org_of_an_unknown_id_is_none(db: Database) -> None:
    assert await OrgRepo(db).get_org(12345) is None


async def test_list_orgs_in_creation_order(db: Database) -> None:
    orgs = OrgRepo(db)
    await orgs.create_org("B", "Europe/Prague", "cs", 5)
    await orgs.create_org("A", "Europe/Vilnius", "lt", 3, is_demo=True)
    listed = await orgs.list_orgs()
    assert [(o.name, o.is_demo) for o in listed] == [("B", False), ("A", True)]


async def test_default_org_is_created_once(db: Database) -> None:
    orgs = OrgRepo(db)
    first = await orgs.default_org()
    second = await orgs.default_org()
    assert first.name == "Local organisation"
    assert first.id == second.id
    assert len(await orgs.list_orgs()) == 1


async def test_update_settings_changes_only_what_is_given(db: Database) -> None:
    orgs = OrgRepo(db)
    org_id = await orgs.create_org("Org", "Europe/Ljubljana", "en", 5)
    updated = await orgs.update_settings(org_id, k_threshold=7, checkin_hour=14, lens="eqalin")
    assert (updated.k_threshold, updated.checkin_hour, updated.lens) == (7, 14, "eqalin")
    assert (updated.name, updated.language, updated.checkin_weekday) == ("Org", "en", 0)
    assert await orgs.get_org(org_id) == updated


async def test_update_settings_of_a_missing_org_raises(db: Database) -> None:
    with pytest.raises(NotFound):
        await OrgRepo(db).update_settings(404, k_threshold=3)


async def test_settings_out_of_range_are_refused_by_the_schema(db: Database) -> None:
    orgs = OrgRepo(db)
    org_id = await orgs.create_org("Org", "Europe/Ljubljana", "en", 5)
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await orgs.update_settings(org_id, checkin_hour=24)
    assert (await orgs.get_org(org_id)).checkin_hour == 9


async def test_units_belong_to_their_org_and_names_are_unique_per_org(db: Database) -> None:
    orgs = OrgRepo(db)
    a = await orgs.create_org("A", "Europe/Ljubljana", "en", 5)
    b = await orgs.create_org("B", "Europe/Ljubljana", "en", 5)
    home = await orgs.create_unit(a, "Home care")
    await orgs.create_unit(a, "Day centre")
    await orgs.create_unit(b, "Home care")
    with pytest.raises(AlreadyExists):
        await orgs.create_unit(a, "Home care")
    with pytest.raises(NotFound):
        await orgs.create_unit(999, "Nowhere")
    assert [u.name for u in await orgs.list_units(a)] == ["Day centre", "Home care"]
    unit = await orgs.get_unit(home)
    assert unit is not None and (unit.org_id, unit.name) == (a, "Home care")
    assert await orgs.get_unit(9999) is None


async def test_get_or_create_person_is_stable(db: Database) -> None:
    people = PeopleRepo(db)
    first = await people.get_or_create(111, "sl")
    again = await people.get_or_create(111, "de")
    assert first == again
    assert first.language == "sl"
    assert first.active is True
    assert await people.by_telegram(111) == first
    assert await people.by_telegram(222) is None


async def test_language_and_active_flag(db: Database) -> None:
    people = PeopleRepo(db)
    person = await people.get_or_create(111, "en")
    assert await people.set_language(person.id, "lt") is True
    assert await people.set_active(person.id, False) is True
    stored = await people.get(person.id)
    assert stored is not None and (stored.language, stored.active) == ("lt", False)
    assert await people.set_language(9999, "lt") is False


async def _org_with_unit(db: Database) -> tuple[int, int, int]:
    orgs = OrgRepo(db)
    org_id = await orgs.create_org("Org", "Europe/Ljubljana", "en", 5)
    return org_id, await orgs.create_unit(org_id, "North"), await orgs.create_unit(org_id, "South")


async def test_memberships_are_idempotent_and_listed(db: Database) -> None:
    org_id, north, _ = await _org_with_unit(db)
    people = PeopleRepo(db)
    person = await people.get_or_create(1, "en")
    assert await people.add_membership(person.id, org_id, north, "staff") is True
    assert await people.add_membership(person.id, org_id, north, "staff") is False
    assert await people.add_membership(person.id, org_id, None, "manager") is True
    assert await people.memberships(person.id) == [
        Membership(person.id, org_id, None, "manager"),
        Membership(person.id, org_id, north, "staff"),
    ]


async def test_a_unit_of_another_org_is_refused(db: Database) -> None:
    org_id, north, _ = await _org_with_unit(db)
    other = await OrgRepo(db).create_org("Other", "Europe/Ljubljana", "en", 5)
    person = await PeopleRepo(db).get_or_create(1, "en")
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)FOREIGN KEY"):
        await PeopleRepo(db).add_membership(person.id, other, north, "staff")
    assert await PeopleRepo(db).memberships(person.id) == []
    assert org_id != other


async def test_only_admins_can_be_global(db: Database) -> None:
    people = PeopleRepo(db)
    person = await people.get_or_create(1, "en")
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await people.add_membership(person.id, None, None, "manager")
    assert await people.is_global_admin(1) is False
    await people.add_membership(person.id, None, None, "admin")
    assert await people.is_global_admin(1) is True
    assert await people.is_global_admin(2) is False


async def test_staff_and_managers_of_an_org(db: Database) -> None:
    org_id, north, south = await _org_with_unit(db)
    people = PeopleRepo(db)
    ana = await people.get_or_create(1, "sl")
    ben = await people.get_or_create(2, "en")
    cid = await people.get_or_create(3, "en")
    boss = await people.get_or_create(4, "en")
    await people.add_membership(ana.id, org_id, north, "staff")
    await people.add_membership(ben.id, org_id, south, "staff")
    await people.add_membership(cid.id, org_id, north, "staff")
    await people.add_membership(boss.id, org_id, north, "manager")
    await people.set_active(cid.id, False)

    assert [p.id for p in await people.staff_of(org_id)] == [ana.id, ben.id]
    assert [p.id for p in await people.staff_of(org_id, north)] == [ana.id]
    assert [p.id for p in await people.staff_of(org_id, north, active_only=False)] == [
        ana.id,
        cid.id,
    ]
    assert [p.id for p in await people.managers_of(org_id)] == [boss.id]


async def test_admin_in_one_org_is_not_global(db: Database) -> None:
    org_id, _, _ = await _org_with_unit(db)
    people = PeopleRepo(db)
    person = await people.get_or_create(5, "en")
    await people.add_membership(person.id, org_id, None, "admin")
    assert await people.is_global_admin(5) is False


async def test_forget_deletes_the_person_but_keeps_anonymous_answers(db: Database) -> None:
    org_id, north, _ = await _org_with_unit(db)
    people = PeopleRepo(db)
    sessions = SessionRepo(db)
    person = await people.get_or_create(777, "en")
    await people.add_membership(person.id, org_id, north, "staff")
    version = await ScriptRepo(db).publish(
        "staff-pulse", None, "id: staff-pulse\n", "yaml", "Pulse", person.id, []
    )
    session = await sessions.create(
        version.id, org_id, north, "staff", person.id, None, "2026-W48", "{}", TODAY
    )
    await sessions.save_step(
        session.id, 0, "{}", "active", TODAY, upsert=AnswerRow("q1", score=4.0)
    )
    await sessions.set_rotation(person.id, "staff-pulse", 1, ["q1"])
    await DigestRepo(db).mark_sent(org_id, None, "2026-W48", person.id)

    assert await people.forget(person.id) is True

    assert await people.by_telegram(777) is None
    assert await people.memberships(person.id) == []
    assert await sessions.get_rotation(person.id, "staff-pulse") == (0, frozenset())
    stored = await sessions.get(session.id)
    assert stored is not None and stored.person_id is None
    assert await sessions.answers(session.id) == [AnswerRow("q1", score=4.0)]
    # Nothing anywhere still holds the person's id or Telegram id.
    assert (await db.fetchone("SELECT count(*) FROM digests_sent"))[0] == 0
    assert (await ScriptRepo(db).get(version.id)).published_by is None
    assert await people.forget(person.id) is False
