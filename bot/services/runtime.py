"""What every command needs, opened once: database, secret, frameworks, scripts, dialogs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.infra.config import Settings
from bot.services.dialog_service import DialogService
from bot.services.script_registry import ScriptRegistry
from frameworks import Frameworks, default_frameworks
from storage.db import Database
from storage.secret import load_or_create_secret
from storage.times import Clock


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secret: bytes
    frameworks: Frameworks
    scripts: ScriptRegistry
    dialogs: DialogService

    @property
    def clock(self) -> Clock:
        """The one source of "now" for everything this runtime does."""
        return self.db.clock


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    secret = load_or_create_secret(settings.secret_file)
    db = await Database.open(settings.db_path, clock=clock)
    try:
        frameworks = default_frameworks()
        scripts = ScriptRegistry(db, frameworks)
        await scripts.ensure_shipped()
        yield Runtime(settings, db, secret, frameworks, scripts, DialogService(db, scripts))
    finally:
        await db.close()
