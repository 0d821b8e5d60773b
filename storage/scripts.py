"""Published dialog script versions, kept as their exact text, and which one is live.

Storage never parses a script: the caller validates it and hands over the text,
its title and its question -> framework item crosswalk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.connection import Connection, Row
from storage.db import Database
from storage.errors import NotFound
from storage.rows import record

SourceFormat = Literal["yaml", "xlsx"]
# (question_id, framework, item_id)
ItemLink = tuple[str, str, str]


@dataclass(frozen=True)
class ScriptVersion:
    id: int
    script_id: str
    org_id: int | None  # None: the global script every organisation gets by default
    version: int
    source_text: str
    source_format: SourceFormat
    sha256: str
    title: str
    published_by: int | None
    published_at: datetime
    shipped: bool = False  # one of carecheck's defaults, not a person's


# The live version for an organisation: its own variant first, else the global one.
_EFFECTIVE = (
    "SELECT v.* FROM active_scripts a JOIN script_versions v ON v.id = a.script_version_id"
    " WHERE a.script_id = ? AND (a.org_id = ? OR a.org_id IS NULL)"
    " ORDER BY a.org_id IS NULL LIMIT 1"
)


def _effective(conn: Connection, script_id: str, org_id: int | None) -> Row | None:
    row: Row | None = conn.execute(_EFFECTIVE, (script_id, org_id)).fetchone()
    return row


def _publish(
    conn: Connection,
    now: str,
    script_id: str,
    org_id: int | None,
    source_text: str,
    source_format: SourceFormat,
    title: str,
    published_by: int | None,
    items: Iterable[ItemLink],
    shipped: bool = False,
) -> Row:
    digest = hashlib.sha256(source_text.encode("utf-8")).hexdigest()
    live = _effective(conn, script_id, org_id)
    if live is not None and live["sha256"] == digest and live["source_text"] == source_text:
        return live
    last = conn.execute(
        "SELECT max(version) FROM script_versions WHERE script_id = ? AND org_id IS NOT"
        " DISTINCT FROM ?",
        (script_id, org_id),
    ).fetchone()[0]
    row: Row = conn.execute(
        "INSERT INTO script_versions (script_id, org_id, version, source_text, source_format,"
        " sha256, title, published_by, shipped, published_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            script_id,
            org_id,
            (last or 0) + 1,
            source_text,
            source_format,
            digest,
            title,
            published_by,
            int(shipped),
            now,
        ),
    ).fetchone()
    conn.executemany(
        "INSERT INTO question_items (script_version_id, question_id, framework, item_id)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(row["id"], question, framework, item) for question, framework, item in items],
    )
    conn.execute(
        "DELETE FROM active_scripts WHERE script_id = ? AND org_id IS NOT DISTINCT FROM ?",
        (script_id, org_id),
    )
    conn.execute(
        "INSERT INTO active_scripts (script_id, org_id, script_version_id, activated_at)"
        " VALUES (?, ?, ?, ?)",
        (script_id, org_id, row["id"], now),
    )
    return row


class ScriptRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self,
        script_id: str,
        org_id: int | None,
        source_text: str,
        source_format: SourceFormat,
        title: str,
        published_by: int | None,
        items: Iterable[ItemLink],
        *,
        shipped: bool = False,
    ) -> ScriptVersion:
        """Store a new version (last + 1 in its scope) and make it live.

        Publishing exactly the text that is already live for that organisation
        (its own variant, or the global one it falls back to) changes nothing and
        returns the live version.
        """
        links = list(items)
        now = self._db.now_text()
        row = await self._db.run(
            lambda conn: _publish(
                conn,
                now,
                script_id,
                org_id,
                source_text,
                source_format,
                title,
                published_by,
                links,
                shipped,
            )
        )
        return record(ScriptVersion, row)

    async def rollback(
        self, script_id: str, org_id: int | None, to_version: int, by: int | None
    ) -> ScriptVersion:
        """Make an old version live again by publishing its text as a new version.

        History stays linear: version numbers only grow, and answers keep
        pointing at the version they were given under.
        """

        now = self._db.now_text()

        def rollback(conn: Connection) -> Row:
            old = conn.execute(
                "SELECT * FROM script_versions WHERE script_id = ? AND org_id"
                " IS NOT DISTINCT FROM ? AND version = ?",
                (script_id, org_id, to_version),
            ).fetchone()
            if old is None:
                scope = "global" if org_id is None else f"organisation {org_id}"
                raise NotFound(f"script {script_id!r} ({scope}) has no version {to_version}")
            links = conn.execute(
                "SELECT question_id, framework, item_id FROM question_items"
                " WHERE script_version_id = ?",
                (old["id"],),
            ).fetchall()
            return _publish(
                conn,
                now,
                script_id,
                org_id,
                old["source_text"],
                old["source_format"],
                old["title"],
                by,
                [tuple(link) for link in links],
            )

        return record(ScriptVersion, await self._db.run(rollback))

    async def active(self, script_id: str, org_id: int | None) -> ScriptVersion | None:
        """The live version for an organisation: its own variant first, else the global one."""
        row = await self._db.fetchone(_EFFECTIVE, (script_id, org_id))
        return None if row is None else record(ScriptVersion, row)

    async def get(self, version_row_id: int) -> ScriptVersion | None:
        row = await self._db.fetchone(
            "SELECT * FROM script_versions WHERE id = ?", (version_row_id,)
        )
        return None if row is None else record(ScriptVersion, row)

    async def versions(self, script_id: str, org_id: int | None) -> list[ScriptVersion]:
        """Every version in one scope (exactly this organisation, or global), oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM script_versions WHERE script_id = ? AND org_id"
            " IS NOT DISTINCT FROM ? ORDER BY version",
            (script_id, org_id),
        )
        return [record(ScriptVersion, row) for row in rows]

    async def list_active(self) -> list[ScriptVersion]:
        """Every live version, global and per organisation."""
        rows = await self._db.fetchall(
            "SELECT v.* FROM active_scripts a JOIN script_versions v ON v.id = a.script_version_id"
            " ORDER BY a.script_id, coalesce(a.org_id, 0)"
        )
        return [record(ScriptVersion, row) for row in rows]

    async def items(self, version_row_id: int) -> list[ItemLink]:
        """The crosswalk captured when this version was published."""
        rows = await self._db.fetchall(
            "SELECT question_id, framework, item_id FROM question_items"
            " WHERE script_version_id = ? ORDER BY question_id, framework, item_id",
            (version_row_id,),
        )
        return [(r["question_id"], r["framework"], r["item_id"]) for r in rows]
