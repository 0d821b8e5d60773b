"""Invite codes: creation, redemption rules, revocation and concurrent redeems."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage import Database, InviteError, InviteRepo, OrgRepo
from storage.connection import INTEGRITY_ERRORS
from storage.invites import new_code
from tests.fake_clock import FakeClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK = FakeClock(NOW)


@pytest.fixture
async def db(db_location: str) -> AsyncIterator[Database]:
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


@pytest.fixture
async def org_id(db: Database) -> int:
    return await OrgRepo(db).create_org("Org", "Europe/Ljubljana", "en", 5)


async def test_codes_are_random_and_fit_a_deep_link(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    codes = {
        (await invites.create(org_id, None, "staff", None, None, None)).code for _ in range(50)
    }
    assert len(codes) == 50
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", code)


async def test_create_and_get_round_trip(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    unit_id = await OrgRepo(db).create_unit(org_id, "North")
    expires = NOW + timedelta(days=7)
    invite = await invites.create(org_id, unit_id, "service_user", 10, expires, None)
    assert (invite.role, invite.max_uses, invite.uses, invite.expires_at) == (
        "service_user",
        10,
        0,
        expires,
    )
    assert await invites.get(invite.code) == invite
    assert await invites.get("no-such-code-at-all") is None


async def test_redeem_counts_uses_until_used_up(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "staff", 2, None, None)
    assert (await invites.redeem(invite.code, NOW)).uses == 1
    assert (await invites.redeem(invite.code, NOW)).uses == 2
    with pytest.raises(InviteError) as error:
        await invites.redeem(invite.code, NOW)
    assert error.value.reason == "used_up"
    assert (await invites.get(invite.code)).uses == 2


async def test_unlimited_invite_never_runs_out(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "service_user", None, None, None)
    for _ in range(30):
        redeemed = await invites.redeem(invite.code, NOW)
    assert redeemed.uses == 30


async def test_expired_invite_is_refused_from_its_expiry_on(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "staff", None, NOW, None)
    assert (await invites.redeem(invite.code, NOW - timedelta(seconds=1))).uses == 1
    with pytest.raises(InviteError) as error:
        await invites.redeem(invite.code, NOW)
    assert error.value.reason == "expired"
    assert (await invites.get(invite.code)).uses == 1


async def test_expiry_compares_instants_not_wall_clocks(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "staff", None, NOW, None)
    # 09:30 in Ljubljana (UTC+1 in November) is 08:30 UTC: still before expiry.
    ljubljana = ZoneInfo("Europe/Ljubljana")
    assert (
        await invites.redeem(invite.code, datetime(2026, 11, 23, 9, 30, tzinfo=ljubljana))
    ).uses == 1
    # 10:00 in Ljubljana is exactly the expiry.
    with pytest.raises(InviteError):
        await invites.redeem(invite.code, datetime(2026, 11, 23, 10, 0, tzinfo=ljubljana))


async def test_naive_times_are_refused(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "staff", None, None, None)
    with pytest.raises(ValueError, match="naive"):
        await invites.redeem(invite.code, datetime(2026, 11, 23, 9, 0))


async def test_revoked_invite_is_refused(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    invite = await invites.create(org_id, None, "manager", 5, None, None)
    assert await invites.revoke(invite.code, NOW) is True
    assert await invites.revoke(invite.code, NOW) is False
    assert (await invites.get(invite.code)).revoked_at == NOW
    with pytest.raises(InviteError) as error:
        await invites.redeem(invite.code, NOW)
    assert error.value.reason == "revoked"


async def test_unknown_code(db: Database) -> None:
    with pytest.raises(InviteError) as error:
        await InviteRepo(db).redeem("definitely-not-a-code", NOW)
    assert error.value.reason == "unknown"


async def test_list_shows_only_that_orgs_invites(db: Database, org_id: int) -> None:
    invites = InviteRepo(db)
    other = await OrgRepo(db).create_org("Other", "Europe/Ljubljana", "en", 5)
    mine = await invites.create(org_id, None, "staff", None, None, None)
    await invites.create(other, None, "staff", None, None, None)
    admin = await invites.create(None, None, "admin", 1, None, None)
    assert [i.code for i in await invites.list(org_id)] == [mine.code]
    assert [i.code for i in await invites.list(None)] == [admin.code]


async def test_a_non_admin_invite_needs_an_org(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)CHECK"):
        await InviteRepo(db).create(None, None, "staff", None, None, None)


async def test_concurrent_redeems_never_exceed_max_uses(db: Database, org_id: int) -> None:
    invite = await InviteRepo(db).create(org_id, None, "staff", 5, None, None)
    invites = InviteRepo(db)
    results = await asyncio.gather(
        *(invites.redeem(invite.code, NOW) for _ in range(20)), return_exceptions=True
    )
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(succeeded) == 5
    assert sorted(r.uses for r in succeeded) == [1, 2, 3, 4, 5]
    assert all(isinstance(f, InviteError) and f.reason == "used_up" for f in failed)
    assert (await invites.get(invite.code)).uses == 5


async def test_concurrent_redeems_across_two_connections(db_location: str) -> None:
    path = db_location
    async with (
        await Database.open(path, clock=CLOCK) as first,
        await Database.open(path, clock=CLOCK) as second,
    ):
        org_id = await OrgRepo(first).create_org("Org", "Europe/Ljubljana", "en", 5)
        invite = await InviteRepo(first).create(org_id, None, "staff", 5, None, None)
        repos = [InviteRepo(first), InviteRepo(second)]
        results = await asyncio.gather(
            *(repos[i % 2].redeem(invite.code, NOW) for i in range(20)), return_exceptions=True
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 5
        assert all(isinstance(r, InviteError) for r in results if isinstance(r, BaseException))
        assert (await InviteRepo(second).get(invite.code)).uses == 5


def test_codes_are_letters_and_digits_so_no_code_reads_as_an_option() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 22 and c.isascii() and c.isalnum() for c in codes)
