"""Someone who left, and a unit that closed: no more check-ins or links, not enrolled,
and every answer already given still in the scores."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from bot.infra.i18n import translator
from bot.services.digests.demo_data import create_demo
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_render import digest_json
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from storage.reports import ReportRepo
from tests.harness import Harness, button
from tests.test_bot_jobs_and_types import MONDAY_0800_UTC, invitations, scheduler, staff

T = translator("en")


async def person_id(bot: Harness, telegram_id: int) -> int:
    person = await PeopleRepo(bot.rt.db).by_telegram(telegram_id)
    assert person is not None
    return person.id


async def test_a_deactivated_person_is_asked_nothing_more(bot: Harness) -> None:
    org = await bot.org()
    alice, bob = await staff(bot, org, 2)
    chat = {"type": "chat", "chat_id": bob.id}
    assert bot.api.commands_for(chat)  # staff have their own menu
    jobs = scheduler(bot)
    assert (await jobs.run_due(MONDAY_0800_UTC)).pulses == 2
    bot.clock.now = MONDAY_0800_UTC + timedelta(minutes=5)
    invitation = invitations(bot, bob)[0]
    await bot.press(bob, invitation, button(invitation, T("⏰ Remind me later")))

    bob_id = await person_id(bot, bob.id)
    assert await bot.rt.organisations.deactivate(org, bob_id) == 1
    bot.rt.identities.forget_cached(bob.id)
    # No snooze, no reminder, no next week's pulse: Alice alone is still asked.
    assert (await jobs.run_due(bot.clock.now + timedelta(hours=3, minutes=1))).snoozes == 0
    assert (await jobs.run_due(MONDAY_0800_UTC + timedelta(days=2))).reminders == 1
    next_week = await jobs.run_due(MONDAY_0800_UTC + timedelta(weeks=1))
    assert next_week.pulses == 1
    assert len(invitations(bot, bob)) == 0 and len(invitations(bot, alice)) == 3
    enrolled = await ReportRepo(bot.rt.db).snapshot(lambda r: r.enrolled_staff_ids(org))
    assert [who for who, _unit in enrolled] == [await person_id(bot, alice.id)]
    refused = await bot.command(bob, "/checkin")
    assert refused.text == T("Check-ins are for staff who joined with an invitation link.")
    # After a restart the chat's menu is the default one again (nothing to tap that fails).
    await bot.restart()
    assert bot.api.commands_for(chat) == []
    # A new link brings them back as the same person.
    await bot.command(bob, "/start", await bot.invite(org, "staff"))
    assert await person_id(bot, bob.id) == bob_id
    assert [p.id for p, _roles in await bot.rt.organisations.members(org)] == [
        await person_id(bot, alice.id),
        bob_id,
    ]


async def test_past_answers_stay_in_the_scores(bot: Harness) -> None:
    today = date(2026, 11, 23)
    bot.clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    demo = await create_demo(
        bot.rt.db, bot.rt.scripts, bot.rt.frameworks, today=today, weeks=12, staff=12, users=30
    )
    org = demo.org_id
    before = await compute_digest(bot.rt.db, bot.rt.frameworks, org)
    answered = await bot.rt.db.fetchall(
        "SELECT DISTINCT s.person_id FROM sessions s JOIN answers a ON a.session_id = s.id"
        " WHERE s.org_id = ? AND s.person_id IS NOT NULL ORDER BY s.person_id",
        (org,),
    )
    leaver = int(answered[0]["person_id"])
    assert await bot.rt.organisations.deactivate(org, leaver) >= 1
    after = await compute_digest(bot.rt.db, bot.rt.frameworks, org)
    # The same figures: their answers still count, and they count in the window they
    # answered in; they are no longer among the staff who could answer.
    assert json.loads(digest_json(after))["items"] == json.loads(digest_json(before))["items"]
    assert after.participation == before.participation
    enrolled = await ReportRepo(bot.rt.db).snapshot(lambda r: r.enrolled_staff_ids(org))
    assert leaver not in {who for who, _unit in enrolled} and len(enrolled) == 11


async def test_an_archived_unit_takes_nobody_new(bot: Harness) -> None:
    org = await bot.org()
    orgs = OrgRepo(bot.rt.db)
    ward = await orgs.create_unit(org, "Ward A")
    code = await bot.invite(org, "staff", unit_id=ward)
    sam = bot.user("Sam")
    await bot.command(sam, "/start", code)
    archived = await bot.rt.organisations.archive_unit(ward)
    assert (archived.invites_revoked, archived.staff_moved) == (1, 1)
    late = bot.user("Lea")
    refused = await bot.command(late, "/start", code)
    assert refused.text == T("This link has been withdrawn. Please ask for a new one.")
    assert [u.id for u in await orgs.list_units(org, archived=False)] == []
    # Sam still gets the check-in, now as staff of the whole organisation.
    assert (await scheduler(bot).run_due(MONDAY_0800_UTC)).pulses == 1
    bot.rt.identities.forget_cached(sam.id)
    await bot.command(sam, "/checkin")
    sessions = await bot.rt.db.fetchall("SELECT unit_id FROM sessions")
    assert [row["unit_id"] for row in sessions] == [None]
