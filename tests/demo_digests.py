"""The demo organisation's digests at a fixed moment, made once for tests that only render them.

Rendering is pure: a `Digest` in, text out. Tests of the renderers read these real
digests (half a year of demo answers, so there are changes, leaning unit figures and
comparisons) and change them with `dataclasses.replace` where a case is rare in the demo.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def differences(a: Any, b: Any, where: str = "digest") -> list[str]:
    """Where two digests differ; floats equal to 1e-9 (sums may be added in another order)."""
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        found: list[str] = []
        for field in fields(a):
            found += differences(
                getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}"
            )
        return found
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"]
        return [d for key in a for d in differences(a[key], b[key], f"{where}[{key!r}]")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} != {len(b)} entries"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]
