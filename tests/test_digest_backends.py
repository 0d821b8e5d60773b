"""The digest is the same number for number on SQLite and on PostgreSQL.

The digest's grouped reads are the SQL that differs most between the backends
(storage/reports.py keeps both variants): half a year of demo answers go into
each, and the organisation's and a unit's digests must come out equal.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from tests.demo_digests import demo_digests


def _differences(a: Any, b: Any, where: str = "digest") -> list[str]:
    """Where two digests differ; floats equal to 1e-9 (sums may be added in another order)."""
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        found: list[str] = []
        for field in fields(a):
            found += _differences(
                getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}"
            )
        return found
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"]
        return [d for key in a for d in _differences(a[key], b[key], f"{where}[{key!r}]")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} != {len(b)} entries"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_demo_digests_agree_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    lite = demo_digests(tmp_path)
    pg = demo_digests(tmp_path, pg_url)
    assert _differences(lite.organisation, pg.organisation) == []
    assert _differences(lite.unit, pg.unit) == []
    # The comparison saw figures, not two empty digests, and tells digests apart.
    assert lite.organisation.items and lite.organisation.comments
    assert _differences(lite.organisation, lite.unit) != []
