"""Script versions: publishing, the live version per organisation, rollback."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from storage import Database, NotFound, OrgRepo, ScriptRepo
from storage.connection import INTEGRITY_ERRORS
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

V1 = "id: staff-pulse\ntitle: {en: Check-in}\n# first\n"
V2 = "id: staff-pulse\ntitle: {en: Check-in}\n# second\n"
V3 = "id: staff-pulse\ntitle: {en: Check-in}\n# third\n"
ITEMS = [("q_plan", "equass", "participation"), ("q_plan", "cz-sqss", "5")]


@pytest.fixture
async def db(db_location: str) -> AsyncIterator[Database]:
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


@pytest.fixture
async def org_id(db: Database) -> int:
    return await OrgRepo(db).create_org("Org", "Europe/Ljubljana", "en", 5)


async def test_first_publish_is_version_one_and_live(db: Database) -> None:
    scripts = ScriptRepo(db)
    published = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, ITEMS)
    assert (published.version, published.org_id, published.source_text) == (1, None, V1)
    assert published.sha256 == hashlib.sha256(V1.encode()).hexdigest()
    assert await scripts.active("staff-pulse", None) == published
    assert await scripts.get(published.id) == published
    assert await scripts.items(published.id) == sorted(ITEMS)


async def test_the_exact_text_is_kept(db: Database) -> None:
    text = "id: x\n  trailing spaces   \n\ttab\r\nüñíçødé ✓\n"
    published = await ScriptRepo(db).publish("x", None, text, "yaml", "X", None, [])
    assert (await ScriptRepo(db).get(published.id)).source_text == text


async def test_versions_grow_and_the_newest_is_live(db: Database) -> None:
    scripts = ScriptRepo(db)
    await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, ITEMS)
    second = await scripts.publish("staff-pulse", None, V2, "xlsx", "Check-in 2", None, [])
    assert second.version == 2
    assert (await scripts.active("staff-pulse", None)).id == second.id
    assert [v.version for v in await scripts.versions("staff-pulse", None)] == [1, 2]
    assert await scripts.items(second.id) == []


async def test_republishing_the_live_text_creates_no_version(db: Database) -> None:
    scripts = ScriptRepo(db)
    first = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, ITEMS)
    again = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, ITEMS)
    assert again == first
    assert len(await scripts.versions("staff-pulse", None)) == 1


async def test_an_org_variant_overrides_the_global_script_for_that_org_only(
    db: Database, org_id: int
) -> None:
    scripts = ScriptRepo(db)
    other = await OrgRepo(db).create_org("Other", "Europe/Ljubljana", "en", 5)
    global_v1 = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, [])
    assert (await scripts.active("staff-pulse", org_id)).id == global_v1.id

    variant = await scripts.publish("staff-pulse", org_id, V2, "yaml", "Ours", None, [])
    assert (variant.version, variant.org_id) == (1, org_id)
    assert (await scripts.active("staff-pulse", org_id)).id == variant.id
    assert (await scripts.active("staff-pulse", other)).id == global_v1.id

    global_v2 = await scripts.publish("staff-pulse", None, V3, "yaml", "Check-in", None, [])
    assert global_v2.version == 2
    assert (await scripts.active("staff-pulse", org_id)).id == variant.id
    assert (await scripts.active("staff-pulse", other)).id == global_v2.id
    assert {(v.org_id, v.version) for v in await scripts.list_active()} == {
        (None, 2),
        (org_id, 1),
    }


async def test_publishing_the_global_text_as_an_org_variant_changes_nothing(
    db: Database, org_id: int
) -> None:
    scripts = ScriptRepo(db)
    global_v1 = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, [])
    same = await scripts.publish("staff-pulse", org_id, V1, "yaml", "Check-in", None, [])
    assert same == global_v1
    assert await scripts.versions("staff-pulse", org_id) == []


async def test_unknown_script_has_no_active_version(db: Database) -> None:
    assert await ScriptRepo(db).active("nope", None) is None


async def test_rollback_republishes_the_old_text_as_a_new_version(db: Database) -> None:
    scripts = ScriptRepo(db)
    await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, ITEMS)
    await scripts.publish("staff-pulse", None, V2, "yaml", "Check-in 2", None, [])
    restored = await scripts.rollback("staff-pulse", None, 1, None)
    assert (restored.version, restored.source_text, restored.title) == (3, V1, "Check-in")
    assert (await scripts.active("staff-pulse", None)).id == restored.id
    assert await scripts.items(restored.id) == sorted(ITEMS)
    assert [v.version for v in await scripts.versions("staff-pulse", None)] == [1, 2, 3]


async def test_rollback_to_a_missing_version_raises_and_changes_nothing(db: Database) -> None:
    scripts = ScriptRepo(db)
    live = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, [])
    with pytest.raises(NotFound, match="no version 7"):
        await scripts.rollback("staff-pulse", None, 7, None)
    assert await scripts.active("staff-pulse", None) == live


async def test_version_numbers_are_unique_per_scope(db: Database) -> None:
    await ScriptRepo(db).publish("staff-pulse", None, V1, "yaml", "Check-in", None, [])
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)UNIQUE"):
        await db.execute(
            "INSERT INTO script_versions (script_id, org_id, version, source_text,"
            " source_format, sha256, title, published_at)"
            " VALUES ('staff-pulse', NULL, 1, 'x', 'yaml', ?, 't', '2026-11-23T10:00:00Z')",
            ("0" * 64,),
        )


async def test_a_failed_publish_leaves_the_live_version(db: Database) -> None:
    scripts = ScriptRepo(db)
    live = await scripts.publish("staff-pulse", None, V1, "yaml", "Check-in", None, [])
    with pytest.raises(INTEGRITY_ERRORS):
        await scripts.publish("staff-pulse", None, V2, "docx", "Bad", None, [])  # type: ignore[arg-type]
    assert await scripts.active("staff-pulse", None) == live
    assert len(await scripts.versions("staff-pulse", None)) == 1


async def test_a_forgotten_publisher_does_not_make_a_version_shipped(db_location: str) -> None:
    from bot.services.script_registry import ScriptRegistry
    from frameworks import default_frameworks
    from storage.people import PeopleRepo

    async with await Database.open(db_location, clock=CLOCK) as db:
        registry = ScriptRegistry(db, default_frameworks())
        shipped = await registry.ensure_shipped()
        assert shipped and all(v.shipped for v in shipped)
        live = await registry.active("service-user", None)
        text = live.version.source_text.replace("id: service-user", "id: service-user", 1)
        text += "\n# an admin's own edit\n"
        admin = await PeopleRepo(db).get_or_create(4242, "en")
        mine = await registry.publish(live.script, text, "yaml", None, admin.id)
        assert not mine.shipped
        await PeopleRepo(db).forget(admin.id)
        assert await registry.ensure_shipped() == []  # the admin's version stays live
        assert (await registry.active("service-user", None)).version.id == mine.id
