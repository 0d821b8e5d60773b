"""Every application service, built once over one database, one secret and one clock.

Adapters open a runtime and call its services; nothing below it knows which adapter
(Telegram, the console, the command line) is asking.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

from bot.infra.config import Settings
from bot.services.checkin_schedule import CheckinSchedule
from bot.services.comment_replies import CommentReplies
from bot.services.dialog_service import DialogService, PreviewEnded
from bot.services.digests.improvement_actions import what_we_changed
from bot.services.flow_memory import FlowMemory
from bot.services.identity import IdentityService
from bot.services.invitations import Invitations
from bot.services.onboarding import Onboarding
from bot.services.org_calendar import OrgCalendar
from bot.services.organisations import Organisations
from bot.services.own_frameworks import OwnFrameworks
from bot.services.personal_data import PersonalData
from bot.services.safeguarding import Safeguarding
from bot.services.script_admin import ScriptAdmin
from bot.services.script_registry import ScriptRegistry
from bot.services.settings_desk import SettingsDesk
from bot.services.update_ledger import UpdateLedger
from frameworks import Frameworks, default_frameworks
from storage.db import Database
from storage.secret import load_or_create_secret
from storage.session_memory import MemorySessions
from storage.sessions import SessionRepo
from storage.times import Clock

PREVIEWS = 1_000  # admins' previews kept in memory at most


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secret: bytes
    frameworks: Frameworks  # the shipped ones; `own_frameworks.of(org)` adds an organisation's
    own_frameworks: OwnFrameworks
    scripts: ScriptRegistry
    calendar: OrgCalendar
    identities: IdentityService
    dialogs: DialogService
    previews: DialogService  # admins playing a draft: the same path, nothing stored
    onboarding: Onboarding
    invitations: Invitations
    checkins: CheckinSchedule
    organisations: Organisations
    personal_data: PersonalData
    script_admin: ScriptAdmin
    settings_desk: SettingsDesk
    replies: CommentReplies
    safeguarding: Safeguarding
    updates: UpdateLedger  # which Telegram updates were applied (webhook replicas)
    flows: FlowMemory  # the multi-step flows each person is in, for every replica

    @property
    def clock(self) -> Clock:
        """The one source of "now" for everything this runtime does."""
        return self.db.clock


@asynccontextmanager
async def open_database(settings: Settings, clock: Clock) -> AsyncIterator[Database]:
    """The database alone, for a command that needs no scripts, dialogs or secret."""
    db = await Database.open(settings.database, clock=clock)
    try:
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    secret = load_or_create_secret(settings.secret_file)
    db = await Database.open(settings.database, clock=clock)
    try:
        yield await build_runtime(settings, db, secret)
    finally:
        await db.close()


async def build_runtime(settings: Settings, db: Database, secret: bytes) -> Runtime:
    frameworks = default_frameworks()
    own_frameworks = OwnFrameworks(db, frameworks)
    scripts = ScriptRegistry(db, frameworks, own_frameworks)
    await scripts.ensure_shipped()
    calendar = OrgCalendar(db)
    identities = IdentityService(db, secret)

    async def changes_for(org_id: int, today: date) -> list[str]:
        return await what_we_changed(db, org_id, None, today)

    replies = CommentReplies(db, secret, calendar, own_frameworks)
    safeguarding = Safeguarding(db, scripts)
    dialogs = DialogService(
        SessionRepo(db),
        scripts,
        calendar,
        db.clock,
        identities.key,
        changes_for,
        offers_for=replies.offers,
        help_for=safeguarding.help_text,
    )
    previews = DialogService(
        MemorySessions(),
        scripts,
        calendar,
        db.clock,
        identities.key,
        help_for=safeguarding.help_text,
        live_sessions=PREVIEWS,
        gone=PreviewEnded,
    )
    organisations = Organisations(db, frameworks)
    return Runtime(
        settings=settings,
        db=db,
        secret=secret,
        frameworks=frameworks,
        own_frameworks=own_frameworks,
        scripts=scripts,
        calendar=calendar,
        identities=identities,
        dialogs=dialogs,
        previews=previews,
        onboarding=Onboarding(db, identities, dialogs),
        invitations=Invitations(db),
        checkins=CheckinSchedule(db),
        organisations=organisations,
        personal_data=PersonalData(db, identities, dialogs, calendar, replies),
        script_admin=ScriptAdmin(scripts),
        settings_desk=SettingsDesk(organisations, safeguarding),
        replies=replies,
        updates=UpdateLedger(db),
        flows=FlowMemory(db, secret),
        safeguarding=safeguarding,
    )
