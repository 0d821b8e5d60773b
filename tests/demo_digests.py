"""The demo organisation's digests at a fixed moment, made once for tests that only render them.

Rendering is pure: a `Digest` in, text out. Tests of the renderers read these real
digests (half a year of demo answers, so there are changes, leaning unit figures and
comparisons) and change them with `dataclasses.replace` where a case is rare in the demo.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.services.digests.demo_data import create_demo
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_model import Digest
from bot.services.script_registry import ScriptRegistry
from frameworks import Frameworks, default_frameworks
from storage.db import Database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday
WEEKS = 26


@dataclass(frozen=True)
class DemoDigests:
    frameworks: Frameworks
    organisation: Digest
    unit: Digest  # the first unit's


def demo_digests(folder: Path, database: str | None = None) -> DemoDigests:
    """The organisation's digest and its first unit's, from a database made in `folder`
    (or in `database`, a fresh PostgreSQL one)."""

    async def compute() -> DemoDigests:
        db = await Database.open(database or folder / "carecheck.db", clock=lambda: NOW)
        try:
            frameworks = default_frameworks()
            scripts = ScriptRegistry(db, frameworks)
            await scripts.ensure_shipped()
            demo = await create_demo(db, scripts, frameworks, today=NOW.date(), weeks=WEEKS)
            organisation = await compute_digest(db, frameworks, demo.org_id, now=NOW)
            unit = await compute_digest(db, frameworks, demo.org_id, demo.units[0][0], now=NOW)
            return DemoDigests(frameworks, organisation, unit)
        finally:
            await db.close()

    return asyncio.run(compute())
