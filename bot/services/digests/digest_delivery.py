"""Weekly digests for the Telegram job: what is due, and sending each exactly once.

`due_digests(now)` looks at each organisation's latest weekly slot (its weekday
and hour, in its time zone). Anything not yet logged as sent for that slot is
due, so the same call is both the regular run and the catch-up after downtime:
a job that runs every few minutes, and once at start, is all the scheduling
needed. Only the newest slot is caught up; older missed weeks stay available
through /digest. `deliver` claims each send in the log before sending, so a
restart, a second job or an overlapping run never sends twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.services.digests.digest_access import require_view
from bot.services.digests.digest_compute import Viewer, compute_digest
from bot.services.digests.digest_model import Digest
from bot.services.digests.digest_render import RenderedDigest, render_all
from bot.services.digests.digest_schedule import last_slot, slot_period
from frameworks import Frameworks
from storage.db import Database
from storage.digest_log import DigestRepo, Recipient
from storage.orgs import Org, OrgRepo
from storage.people import Membership

log = logging.getLogger(__name__)

# Between two recipients: well under Telegram's 30 messages a second overall, since
# one digest is a few messages, a photo and a document.
PACE = 0.25

# Sends one part of a rendered digest (`RenderedDigest.parts`) to a recipient.
Send = Callable[[Recipient, RenderedDigest, str], Awaitable[None]]


@dataclass(frozen=True)
class DueDigest:
    org: Org
    unit_id: int | None  # None: the whole organisation
    period: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class Delivery:
    sent: int
    already_sent: int
    failed: int


async def due_digests(db: Database, now: datetime) -> list[DueDigest]:
    """Digests whose weekly slot has passed and that some manager has not received."""
    log_repo = DigestRepo(db)
    due: list[DueDigest] = []
    for org in await OrgRepo(db).list_orgs():
        try:
            slot = last_slot(now, org.timezone, org.checkin_weekday, org.checkin_hour)
        except ValueError:
            log.warning("organisation %s has an unknown time zone %r", org.id, org.timezone)
            continue
        if slot < org.created_at:
            continue  # the organisation did not exist yet at its last slot
        period = slot_period(slot)
        recipients = await log_repo.unsent(org.id, period)
        for unit_id in dict.fromkeys(r.unit_id for r in recipients):
            group = tuple(r for r in recipients if r.unit_id == unit_id)
            due.append(DueDigest(org, unit_id, period, group))
    return due


async def deliver(
    db: Database,
    frameworks: Frameworks,
    due: DueDigest,
    send: Send,
    *,
    now: datetime,
    pace: float = PACE,
) -> Delivery:
    """Compute the digest once, render it once per language, and send it to each recipient.

    Part by part: each is claimed in the log before it is sent, so a part already
    delivered (or being delivered by another run) is never sent again. If `send`
    raises, that part's claim is withdrawn and the recipient waits for the next run,
    which sends the missing parts only. When every part is out the digest is logged
    as delivered (a blocked bot included: the Telegram layer decides that by
    returning).
    """
    repo = DigestRepo(db)
    org_id, unit_id, period = due.org.id, due.unit_id, due.period
    made: list[tuple[Digest, str, RenderedDigest]] = []
    sent = already = failed = 0
    for recipient in due.recipients:
        person = recipient.person_id
        if await repo.was_sent(org_id, unit_id, period, person):
            already += 1
            continue
        # Each reader's own answers do not count toward k for them, so the digest is
        # theirs; most managers never answered, and theirs are equal and rendered once.
        digest = await compute_digest(
            db, frameworks, org_id, unit_id, period, now=now, viewer=Viewer.person(person)
        )
        rendered = next(
            (r for d, lang, r in made if lang == recipient.language and d == digest), None
        )
        if rendered is None:
            # Charts take a tenth of a second of CPU: keep the event loop free.
            rendered = await asyncio.to_thread(render_all, digest, frameworks, recipient.language)
            made.append((digest, recipient.language, rendered))
        parts = rendered.parts
        claimed = await repo.parts_claimed(org_id, unit_id, period, person)
        sent_now = 0
        for part in parts:
            if part in claimed or not await repo.claim_part(org_id, unit_id, period, person, part):
                continue
            try:
                await send(recipient, rendered, part)
            except Exception:
                await repo.unclaim_part(org_id, unit_id, period, person, part)
                log.exception(
                    "digest %s/%s %s to person %s failed at its %s; will retry that",
                    org_id,
                    unit_id or "-",
                    period,
                    person,
                    part,
                )
                failed += 1
                break
            await repo.settle_part(org_id, unit_id, period, person, part)
            sent_now += 1
        else:
            if sent_now == 0:
                already += 1  # every part was another run's
                continue
            await repo.mark_sent(org_id, unit_id, period, person)
            sent += 1
        if pace:
            await asyncio.sleep(pace)
    return Delivery(sent, already, failed)


class FrameworkViews(Protocol):
    """The frameworks each organisation sees (`bot.services.own_frameworks.OwnFrameworks`)."""

    async def of(self, org_id: int | None) -> Frameworks: ...


async def deliver_due(
    db: Database,
    frameworks: Frameworks | FrameworkViews,
    send: Send,
    *,
    now: datetime,
    pace: float = PACE,
) -> Delivery:
    """The weekly job in one call: every due digest to everyone still owed it.

    Each organisation's digest is made with the frameworks it sees (`frameworks.of`),
    so its own framework can be its lens and no other organisation's is.
    """
    sent = already = failed = 0
    for due in await due_digests(db, now):
        try:
            seen = (
                frameworks
                if isinstance(frameworks, Frameworks)
                else await frameworks.of(due.org.id)
            )
            result = await deliver(db, seen, due, send, now=now, pace=pace)
        except Exception:
            # One organisation's broken digest (say an unknown lens) must not stop the others.
            log.exception("digest of organisation %s for %s failed", due.org.id, due.period)
            failed += len(due.recipients)
            continue
        sent += result.sent
        already += result.already_sent
        failed += result.failed
    return Delivery(sent, already, failed)


async def digest_for(
    db: Database,
    frameworks: Frameworks,
    memberships: Iterable[Membership],
    org_id: int,
    unit_id: int | None,
    period: str | None,
    language: str,
    *,
    now: datetime,
    person_id: int | None = None,
) -> RenderedDigest:
    """/digest [unit] [week]: checked against the person's roles, then rendered for them."""
    require_view(memberships, org_id, unit_id)
    digest = await compute_digest(
        db, frameworks, org_id, unit_id, period, now=now, viewer=Viewer.person(person_id)
    )
    return await asyncio.to_thread(render_all, digest, frameworks, language)
