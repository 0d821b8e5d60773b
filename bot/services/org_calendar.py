"""Today where an organisation is: the day answers are filed under and weeks are counted in.

An organisation's time zone is asked for on every start of a dialog and about never
changes, so it is kept for a minute. Its window plan is read each time: a manager's
change of window length takes effect at once.
"""

from __future__ import annotations

from datetime import date

from cachetools import TTLCache

from bot.services.digests.digest_windows import WindowPlan, plan_of
from bot.services.periods import local_today
from storage.db import Database
from storage.orgs import OrgRepo

TIMEZONE_TTL = 60.0  # seconds
ORGANISATIONS = 10_000  # time zones kept at most
FALLBACK_ZONE = "UTC"  # for an organisation that does not exist (any more)


class OrgCalendar:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.orgs = OrgRepo(db)
        self._zones: TTLCache[int, str] = TTLCache(maxsize=ORGANISATIONS, ttl=TIMEZONE_TTL)

    async def timezone(self, org_id: int) -> str:
        zone = self._zones.get(org_id)
        if zone is None:
            org = await self.orgs.get_org(org_id)
            zone = self._zones[org_id] = org.timezone if org else FALLBACK_ZONE
        return zone

    async def today(self, org_id: int) -> date:
        return local_today(self.db.clock(), await self.timezone(org_id))

    async def plan(self, org_id: int) -> WindowPlan:
        """The organisation's windows: what "once a window" and "one respondent" count in."""
        return plan_of(await self.orgs.window_segments(org_id))
