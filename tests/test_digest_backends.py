"""The digest is the same number for number on SQLite and on PostgreSQL.

The digest's grouped reads are the SQL that differs most between the backends
(storage/reports.py keeps both variants): half a year of demo answers go into
each, and the organisation's and a unit's digests must come out equal.
"""

from __future__ import annotations

from pathlib import Path

from tests.demo_digests import demo_digests, differences


def test_demo_digests_agree_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    lite = demo_digests(tmp_path)
    pg = demo_digests(tmp_path, pg_url)
    assert differences(lite.organisation, pg.organisation) == []
    assert differences(lite.unit, pg.unit) == []
    # The comparison saw figures, not two empty digests, and tells digests apart.
    assert lite.organisation.items and lite.organisation.comments
    assert differences(lite.organisation, lite.unit) != []
