"""Two replicas run the same scheduled jobs at the same moment: each message goes out once.

Every send the bot makes by itself is claimed under a unique key in the database before
it goes (notifications, digests_sent, action_news_sent, safeguarding_sends), so the
claim, not the process, decides who sends it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.infra.i18n import translator
from bot.services.checkin_schedule import SEND_LEASE
from bot.services.digests.improvement_actions import set_action_status
from bot.services.periods import iso_week
from bot.telegram.jobs import Scheduler
from storage.actions import ActionNewsRepo, ActionRepo
from storage.invitation_claims import InvitationClaims
from storage.notifications import NotificationRepo
from storage.people import Membership, PeopleRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.models import User
from tests.fakebotapi.server import FakeBotAPI
from tests.replica_harness import Replica, running
from tests.test_bot_digest import demo_manager
from tests.test_safeguarding import alerts_of, feedback

T = translator("en")
MONDAY_AFTER_SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Ljubljana
READY = T("Your weekly check-in is ready. It takes about a minute.")
REMINDER = T("A gentle reminder: your weekly check-in is still open. It takes about a minute.")


@pytest_asyncio.fixture
async def pair(
    fake_api: FakeBotAPI, tmp_path: Path, shared_database: str | None
) -> AsyncIterator[tuple[Replica, Replica]]:
    clock = FakeClock(MONDAY_AFTER_SLOT - timedelta(days=3))
    async with running(fake_api, tmp_path, clock, database=shared_database) as (a, b):
        yield a, b


def scheduler(replica: Replica) -> Scheduler:
    assert replica.app is not None and replica.app.bot_data.scheduler is not None
    return replica.app.bot_data.scheduler


async def joined(a: Replica, *names: str) -> tuple[int, list[User]]:
    """A new organisation and its staff, joined by invitation."""
    org = await a.org()
    code = await a.invite(org, "staff")
    users = [a.user(name) for name in names]
    for user in users:
        await a.command(user, "/start", code)
    return org, users


async def both_run(a: Replica, b: Replica, now: datetime) -> None:
    await asyncio.gather(scheduler(a).run_due(now), scheduler(b).run_due(now))


def sent_texts(api: FakeBotAPI, user: User) -> Counter[str]:
    return Counter(m.source or "" for m in api.messages(user.id))


async def test_two_replicas_running_every_job_at_once_send_each_message_once(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    _demo, maja = await demo_manager(a)
    org, staff = await joined(a, *(f"Staff{i}" for i in range(6)))
    action = await ActionRepo(a.rt.db).create(
        org, None, "equass", "rights", "Rights on the notice board", None, None, None, None
    )
    console = [Membership(0, None, None, "admin")]
    await set_action_status(a.rt.db, console, action.id, "done", date(2026, 11, 20))
    a.clock.now = MONDAY_AFTER_SLOT

    await both_run(a, b, MONDAY_AFTER_SLOT)
    await both_run(a, b, MONDAY_AFTER_SLOT + timedelta(minutes=1))  # the next tick, both again
    for user in staff:
        texts = sent_texts(fake_api, user)
        assert texts[READY] == 1, texts
        news = [t for t in texts if "Rights on the notice board" in t]
        assert [texts[t] for t in news] == [1]
    # The manager's digest: every part once.
    digest = sent_texts(fake_api, maja)
    assert digest[T("Weak spots: plan an improvement action?")] == 1
    assert max(count for text, count in digest.items() if text) == 1, digest
    for method in ("sendPhoto", "sendDocument"):  # the chart and the printable report
        assert [int(c["chat_id"]) for c in fake_api.calls_to(method)] == [maja.id]
    parts = len(fake_api.calls_to("sendPhoto")) + len(fake_api.calls_to("sendDocument"))

    reminder_time = MONDAY_AFTER_SLOT + timedelta(days=2)
    a.clock.now = reminder_time
    await both_run(a, b, reminder_time)
    for user in staff:
        assert sent_texts(fake_api, user)[REMINDER] == 1
    assert len(fake_api.calls_to("sendPhoto")) + len(fake_api.calls_to("sendDocument")) == parts
    fake_api.assert_no_errors()


async def test_an_invitation_claimed_by_a_replica_that_died_is_sent_after_its_lease(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    org, (ana, bor) = await joined(a, "Ana", "Bor")
    a.clock.now = MONDAY_AFTER_SLOT
    people = {p.telegram_id: p for p in await PeopleRepo(a.rt.db).staff_of(org)}
    # Replica a claimed Ana's pulse and died before it went out.
    claims = InvitationClaims(a.rt.db)
    until = MONDAY_AFTER_SLOT + SEND_LEASE
    week = iso_week(MONDAY_AFTER_SLOT.date())
    assert await claims.claim(people[ana.id].id, org, week, "pulse", until)
    # Bor snoozed; the replica that took his snooze died before sending the reminder.
    await NotificationRepo(a.rt.db).snooze(people[bor.id].id, org, MONDAY_AFTER_SLOT)
    taken = await claims.take_due_snoozes(MONDAY_AFTER_SLOT, until)
    assert [s.person_id for s, _ in taken] == [people[bor.id].id]

    await scheduler(b).run_due(MONDAY_AFTER_SLOT)
    assert sent_texts(fake_api, ana)[READY] == 0  # the claim is live: not twice
    assert sent_texts(fake_api, bor)[READY] == 1
    assert sent_texts(fake_api, bor)[REMINDER] == 0

    later = until + timedelta(minutes=1)
    a.clock.now = later
    await asyncio.gather(scheduler(a).run_due(later), scheduler(b).run_due(later))
    assert sent_texts(fake_api, ana)[READY] == 1  # taken over, sent once
    assert sent_texts(fake_api, bor)[REMINDER] == 1
    await both_run(a, b, later + timedelta(minutes=30))
    assert sent_texts(fake_api, ana)[READY] == 1 and sent_texts(fake_api, bor)[REMINDER] == 1


async def test_news_claimed_by_a_replica_that_died_is_told_after_its_lease(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    org, (ana,) = await joined(a, "Ana")
    a.clock.now = MONDAY_AFTER_SLOT
    title = "Quiet hours after lunch"
    action = await ActionRepo(a.rt.db).create(
        org, None, "equass", "rights", title, None, None, None, None
    )
    console = [Membership(0, None, None, "admin")]
    await set_action_status(a.rt.db, console, action.id, "done", MONDAY_AFTER_SLOT.date())
    (person,) = await PeopleRepo(a.rt.db).staff_of(org)
    queue = ActionNewsRepo(a.rt.db)
    assert await queue.claim(action.id, person.id)  # and then replica a died

    def told() -> int:
        return sum(title in (m.source or "") for m in fake_api.messages(ana.id))

    await scheduler(b).tell_staff()
    assert told() == 0 and [d.id for d in await queue.due()] == [action.id]
    a.clock.now = MONDAY_AFTER_SLOT + SEND_LEASE + timedelta(seconds=1)
    await asyncio.gather(scheduler(a).tell_staff(), scheduler(b).tell_staff())
    assert told() == 1
    assert await queue.due() == []
    await asyncio.gather(scheduler(a).tell_staff(), scheduler(b).tell_staff())
    assert told() == 1


async def test_a_safeguarding_alert_from_two_replicas_at_once_arrives_once(
    fake_api: FakeBotAPI, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    org = await a.org()
    maja = a.user("Maja")
    await a.command(maja, "/start", await a.invite(org, "manager"))
    guest = a.user("Guest")
    await feedback(a, guest, await a.invite(org, "service_user"), ["🙂", "🙂", "🙂", "😞"])
    later = a.clock.now + timedelta(minutes=6)
    a.clock.now = later
    await both_run(a, b, later)
    await both_run(a, b, later + timedelta(minutes=1))
    assert len(alerts_of(a, maja)) == 1
