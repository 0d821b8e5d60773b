""" "You said, we did" for staff: an action marked done is told to the staff it concerns.

Whatever marks an action done (the /actions button, the command line, a script), the
database queues it (a trigger on `actions`); `deliver_news` tells each active staff
member of its unit (every staff member of the organisation for an organisation-wide
action) once: each message is claimed in the database before it is sent, so a double
press, a restart or two runs at once never send it twice. It runs right after the press
and in the scheduler's every-minute job, which catches up after a restart.

Who is not told: staff of other units; people who are inactive, whether deactivated,
blocked the bot, or used /stop. /stop asks for no more messages the person did not
ask for, and this is one, so it is respected the same way (a new invitation link brings both
back). Service users hear of the same action at the end of their next feedback
(`improvement_actions.what_we_changed`), since the bot cannot write to them first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.services.checkin_schedule import PARALLEL_SENDS, Sent
from bot.services.digests.digest_delivery import FrameworkViews
from storage.actions import Action, ActionNewsRepo
from storage.db import Database
from storage.orgs import OrgRepo
from storage.people import PeopleRepo, Person

log = logging.getLogger(__name__)

# Sends the news of `action` to `person`, naming the principle (in the person's
# language, under the action's framework) whose feedback it answered, if still known.
SendNews = Callable[[Person, Action, str | None], Awaitable[Sent]]


@dataclass
class NewsReport:
    sent: int = 0
    failed: int = 0


async def deliver_news(db: Database, frameworks: FrameworkViews, send: SendNews) -> NewsReport:
    """Tell everyone still owed the news of a done action; idempotent, safe to run often."""
    report = NewsReport()
    queue = ActionNewsRepo(db)
    for action in await queue.due():
        try:
            done = await _deliver(db, frameworks, queue, action, send, report)
        except Exception:
            # One organisation's broken news must not hold up the others'.
            log.exception("news of action %s failed; will try again", action.id)
            report.failed += 1
            continue
        if done:
            await queue.finished(action.id)
    return report


async def _deliver(
    db: Database,
    frameworks: FrameworkViews,
    queue: ActionNewsRepo,
    action: Action,
    send: SendNews,
    report: NewsReport,
) -> bool:
    """Send one action's news to each of its staff not told yet; True when every one of
    them has been (by this run or another running beside it)."""
    org = await OrgRepo(db).get_org(action.org_id)
    if org is None or org.is_demo:
        return True  # a demo organisation's staff are synthetic: nobody to tell
    item = (await frameworks.of(org.id)).item(action.framework, action.item_id)
    people = PeopleRepo(db)
    staff = await people.staff_of(org.id, action.unit_id)
    gate = asyncio.Semaphore(PARALLEL_SENDS)

    async def one(person: Person) -> bool | None:
        async with gate:
            if not await queue.claim(action.id, person.id):
                return None
            outcome = await send(
                person, action, None if item is None else item.name(person.language)
            )
            if outcome == "failed":
                await queue.unclaim(action.id, person.id)
                return False
            await queue.settle(action.id, person.id)
            if outcome == "blocked":
                await people.set_active(person.id, False)
                log.info("person %s blocked the bot; no more messages", person.id)
            return outcome == "sent"

    results = await asyncio.gather(*(one(p) for p in staff))
    report.sent += sum(r is True for r in results)
    report.failed += sum(r is False for r in results)
    # A claim another run withdrew after a failed send, or holds still (alive, or dead
    # until its lease runs out), leaves that person untold: the action stays queued until
    # everyone's message is settled.
    return {p.id for p in staff} <= await queue.told(action.id)
