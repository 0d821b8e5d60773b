"""Multi-step flows across webhook replicas: each step may land on another replica.

A flow's state (the ConversationHandler's and the person's `PersonData`) lives in the
database, loaded before each of the person's updates and saved after, so whichever
replica gets the next step carries the flow on; a flow ended on one is over on all.
Each step here is sent to a chosen replica (`deliver_to`), a different one from the
step before, or round-robin, as a load balancer does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from bot.infra.i18n import translator
from storage.people import PeopleRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.models import StoredMessage, User
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import button
from tests.replica_harness import Replica, running
from tests.test_bot_digest import demo_manager, last_with
from tests.test_bot_replies import COMMENT, comment_list, opted_in
from tests.test_bot_replies import demo as replies_demo
from tests.test_flows import PLAN_ENDED, TITLE_ASKED, WEAK_SPOTS

T = translator("en")
OWNER_ASKED = T("Who will do it? Send a name or a role, or tap Skip.")
DUE_ASKED = T("When should it be done?")


@pytest_asyncio.fixture
async def trio(
    fake_api: FakeBotAPI, tmp_path: Path, shared_database: str | None
) -> AsyncIterator[list[Replica]]:
    fake_api.webhook_retry_delay = 0.05
    clock = FakeClock()
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    async with running(fake_api, tmp_path, clock, count=3, database=shared_database) as replicas:
        yield replicas


def on(api: FakeBotAPI, replica: Replica) -> None:
    """The next deliveries go to this replica only."""
    api.deliver_to(replica.url)


async def applied(api: FakeBotAPI) -> None:
    """Every update so far acknowledged: applied, and its flows saved."""
    await api.wait_for(lambda: not api.pending_updates, timeout=10)


async def flow_rows(a: Replica) -> list[tuple[str, bytes]]:
    await applied(a.api)
    rows = await a.rt.db.fetchall("SELECT person_key, sealed FROM flow_states")
    return [(row[0], bytes(row[1])) for row in rows]


def targets_of(api: FakeBotAPI, since: int) -> set[str]:
    return {a.target for a in api.webhook_attempts[since:] if a.acknowledged}


async def plan_begun(api: FakeBotAPI, replicas: list[Replica]) -> tuple[int, User]:
    """Maja's digest, and "Plan an action" pressed on the first replica."""
    a = replicas[0]
    on(api, a)
    org, maja = await demo_manager(a)
    api.send_command(maja, "/digest")
    spots = await a.settle(lambda: last_with(a, maja, WEAK_SPOTS))
    await a.press(maja, spots, spots.callback_data[0])
    await a.settle(lambda: last_with(a, maja, TITLE_ASKED))
    return org, maja


async def actions(a: Replica) -> list[tuple[str, str | None]]:
    """Actions planned in the test (the demo's own have other titles)."""
    rows = await a.rt.db.fetchall(
        "SELECT title, owner FROM actions WHERE title IN (?, ?) ORDER BY id",
        ("Weekly team meeting", "Buddy system"),
    )
    return [(row["title"], row["owner"]) for row in rows]


async def test_a_plan_takes_its_steps_on_three_replicas(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a, b, c = trio
    _org, maja = await plan_begun(fake_api, trio)
    on(fake_api, b)
    owner = await b.text(maja, "Weekly team meeting")
    assert owner.text == OWNER_ASKED
    on(fake_api, c)
    due = await c.text(maja, "Head nurse")
    assert due.text == DUE_ASKED
    on(fake_api, a)
    await a.press(maja, due, button(due, T("In {weeks} weeks", weeks=4)))
    done = fake_api.message(maja.id, due.message_id)
    assert done.text.startswith(T("Planned: “{title}”", title="Weekly team meeting")[:20])
    assert await actions(a) == [("Weekly team meeting", "Head nurse")]
    # Over: nothing of it is left in the database, and a text is no title any more.
    assert await flow_rows(a) == []


async def test_round_robin_delivery_carries_a_plan(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a = trio[0]
    _org, maja = await plan_begun(fake_api, trio)
    fake_api.deliver_to(None)  # round-robin from here
    since = len(fake_api.webhook_attempts)
    assert (await a.text(maja, "Buddy system")).text == OWNER_ASKED
    due = await a.text(maja, "Team leads")
    assert due.text == DUE_ASKED
    await a.press(maja, due, button(due, T("In {weeks} weeks", weeks=4)))
    await applied(fake_api)
    assert len(targets_of(fake_api, since)) == 3  # every step on another replica
    assert await actions(a) == [("Buddy system", "Team leads")]


async def test_a_command_on_one_replica_ends_the_plan_on_all(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a, b, _c = trio
    _org, maja = await plan_begun(fake_api, trio)
    assert (await a.text(maja, "Weekly team meeting")).text == OWNER_ASKED
    on(fake_api, b)
    await b.command(maja, "/help")
    # Replica a still holds the plan in its memory: the database says it is over.
    on(fake_api, a)
    after = await a.text(maja, "Head nurse")
    assert after.text != DUE_ASKED
    assert last_with(a, maja, DUE_ASKED) is None
    assert await actions(a) == []


async def test_a_plan_expires_whichever_replica_gets_the_step(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a, b, _c = trio
    _org, maja = await plan_begun(fake_api, trio)
    a.clock.advance(minutes=31)
    on(fake_api, b)
    await b.text(maja, "Weekly team meeting")
    await b.settle(lambda: last_with(b, maja, PLAN_ENDED))
    assert await actions(a) == []
    assert await flow_rows(a) == []


async def admin_with_draft(api: FakeBotAPI, a: Replica) -> tuple[User, StoredMessage]:
    """Ada, an administrator, has sent a script to replica a and sees its summary."""
    on(api, a)
    org = await a.org()
    ada = a.user("Ada")
    person = await PeopleRepo(a.rt.db).get_or_create(ada.id, "en")
    await PeopleRepo(a.rt.db).add_membership(person.id, org, None, "admin")
    live = await a.rt.scripts.active("staff-pulse", org)
    assert live is not None
    api.send_document(ada, live.version.source_text.encode(), file_name="staff-pulse.yaml")
    summary = await a.settle(lambda: next((m for m in api.messages(ada.id) if m.buttons), None))
    return ada, summary


async def test_a_draft_is_published_from_another_replica(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a, b, _c = trio
    ada, summary = await admin_with_draft(fake_api, a)
    on(fake_api, b)
    answer = await b.press(ada, summary, button(summary, T("✅ Publish")), check=False)
    assert answer.get("text") != T("This draft is gone. Please send the file again.")
    shown = fake_api.message(ada.id, summary.message_id).text
    assert shown.startswith(("Published:", "Nothing to publish:")), shown
    assert await flow_rows(a) == []


async def test_a_reply_and_its_answer_step_across_replicas(
    fake_api: FakeBotAPI, trio: list[Replica]
) -> None:
    a, b, c = trio
    on(fake_api, a)
    org, unit, maja = await replies_demo(a)
    zofija = await opted_in(a, org, unit)
    listed = await comment_list(a, maja, org)
    await a.press(maja, listed, button(listed, "↩"))
    await a.settle(lambda: last_with(a, maja, "Your reply to the comment"))
    on(fake_api, b)
    before = len(fake_api.messages(zofija.id))
    done = await b.text(maja, "Two of us stay until 20:00 to talk.")
    assert done.text == T("Your reply was sent. If the author answers, you get it here.")
    reply = await b.settle(
        lambda: len(fake_api.messages(zofija.id)) > before and fake_api.messages(zofija.id)[-1]
    )
    assert COMMENT in reply.text
    on(fake_api, c)
    await c.press(zofija, reply, button(reply, T("✍ Answer")))
    await c.settle(lambda: last_with(c, zofija, "Send your answer as one message."))
    # The author's flow is stored under no plain Telegram id, and sealed.
    rows = await flow_rows(a)
    assert len(rows) == 1
    assert str(zofija.id) not in rows[0][0]
    assert b"route" not in rows[0][1] and str(zofija.id).encode() not in rows[0][1]
    on(fake_api, a)
    thanks = await a.text(zofija, "Thank you, that helps.")
    assert thanks.text == T("Your answer was sent. Your name stays hidden.")
    answered = await a.settle(lambda: last_with(a, maja, "answered your reply"))
    assert "Thank you, that helps." in answered.text
    assert await flow_rows(a) == []
