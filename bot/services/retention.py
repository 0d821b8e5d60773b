"""Free text is kept for the organisation's retention period, then deleted; marks, until
their period is over.

Comments are what people wrote in their own words, so they are the answers most
likely to identify someone. Scores stay for the trends; the text goes once it is
older than `retention_months` (24 by default) in the organisation's own calendar.
The marks that stop a second answer in a period, and keep a forgotten staff
member's answers of a window one respondent's (`respondents.py`), go the day after
their last day is over everywhere, and so do reply routes (`comment_replies.py`).
Safeguarding alerts, once followed up, go with the comments of their time. The
scheduler calls the job every minute; it works once a day.
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, date, datetime, timedelta

from bot.services.flow_memory import KEEP as FLOW_KEEP
from bot.services.periods import local_today
from bot.services.update_ledger import UpdateLedger
from storage.db import Database
from storage.flow_states import FlowStates
from storage.orgs import OrgRepo
from storage.personal_records import PrivacyRepo
from storage.reply_routes import ReplyRouteRepo
from storage.safeguard_store import SafeguardStore

log = logging.getLogger(__name__)

MARK_MARGIN = timedelta(days=1)


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def purge_comments(db: Database, now: datetime) -> int:
    """Delete every organisation's comments older than its retention; returns how many."""
    privacy = PrivacyRepo(db)
    deleted = 0
    for org in await OrgRepo(db).list_orgs():
        cutoff = months_before(local_today(now, org.timezone), org.retention_months)
        count = await privacy.purge_comments(org.id, cutoff)
        if count:
            log.info(
                "retention: deleted %d comments from before %s in organisation %d",
                count,
                cutoff.isoformat(),
                org.id,
            )
        deleted += count
    return deleted


async def purge_marks(db: Database, now: datetime) -> int:
    """Delete the marks whose last day is over in every time zone; returns how many."""
    # A mark's last day is a day in its organisation's zone, which UTC can be a day
    # ahead of; a day's margin keeps it for the whole of that day everywhere.
    deleted = await PrivacyRepo(db).purge_marks(now.date() - MARK_MARGIN)
    if deleted:
        log.info("retention: deleted %d marks of periods that are over", deleted)
    return deleted


async def purge_reply_routes(db: Database, now: datetime) -> int:
    """Delete the reply routes whose last day is over everywhere; returns how many.

    A route's last day (30 days after its author agreed) is a day of its
    organisation, which UTC can be a day ahead of, hence the margin.
    """
    deleted = await ReplyRouteRepo(db).purge(now.date() - MARK_MARGIN)
    if deleted:
        log.info("retention: deleted %d expired reply routes", deleted)
    return deleted


async def purge_alerts(db: Database, now: datetime) -> int:
    """Delete safeguarding alerts followed up before the organisation's retention period."""
    store = SafeguardStore(db)
    deleted = 0
    for org in await OrgRepo(db).list_orgs():
        cutoff = months_before(local_today(now, org.timezone), org.retention_months)
        moment = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
        deleted += await store.purge_followed_up(org.id, moment)
    if deleted:
        log.info("retention: deleted %d safeguarding alerts followed up long ago", deleted)
    return deleted


class DailyRetention:
    """The scheduler's extra job: both purges, at most once per UTC day; rows deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.last: date | None = None

    async def __call__(self, now: datetime) -> int:
        today = now.date()
        if self.last == today:
            return 0
        deleted = (
            await purge_comments(self.db, now)
            + await purge_marks(self.db, now)
            + await purge_reply_routes(self.db, now)
            + await purge_alerts(self.db, now)
            + await UpdateLedger(self.db).prune(now)
            + await FlowStates(self.db).prune(now - FLOW_KEEP)
        )
        self.last = today
        return deleted
