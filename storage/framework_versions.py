"""Organisations' own frameworks, every published version kept as its exact text.

Storage never parses a framework: the caller validates it and hands over the text.
Versions are per organisation and framework id; the newest is the live one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.connection import Connection, Row
from storage.db import Database
from storage.rows import record

SourceFormat = Literal["yaml", "xlsx"]


@dataclass(frozen=True)
class FrameworkVersion:
    id: int
    org_id: int
    framework_id: str
    version: int
    source_text: str
    source_format: SourceFormat
    sha256: str
    title: str
    published_by: int | None
    published_at: datetime


# The newest version of each of an organisation's frameworks.
_LIVE = (
    "SELECT v.* FROM own_framework_versions v WHERE v.org_id = ? AND v.version = ("
    " SELECT max(n.version) FROM own_framework_versions n"
    " WHERE n.org_id = v.org_id AND n.framework_id = v.framework_id)"
    " ORDER BY v.framework_id"
)


class OwnFrameworkRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self,
        org_id: int,
        framework_id: str,
        source_text: str,
        source_format: SourceFormat,
        title: str,
        published_by: int | None,
    ) -> tuple[FrameworkVersion, bool]:
        """Store the text as the next version and so make it live; (version, created).

        Publishing exactly the live text again stores nothing and returns the live version.
        """
        digest = hashlib.sha256(source_text.encode("utf-8")).hexdigest()
        now = self._db.now_text()

        def publish(conn: Connection) -> tuple[Row, bool]:
            live = conn.execute(
                "SELECT * FROM own_framework_versions WHERE org_id = ? AND framework_id = ?"
                " ORDER BY version DESC LIMIT 1",
                (org_id, framework_id),
            ).fetchone()
            if live is not None and live["source_text"] == source_text:
                return live, False
            row: Row = conn.execute(
                "INSERT INTO own_framework_versions (org_id, framework_id, version, source_text,"
                " source_format, sha256, title, published_by, published_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    org_id,
                    framework_id,
                    (live["version"] if live is not None else 0) + 1,
                    source_text,
                    source_format,
                    digest,
                    title,
                    published_by,
                    now,
                ),
            ).fetchone()
            return row, True

        row, created = await self._db.run(publish)
        return record(FrameworkVersion, row), created

    async def live(self, org_id: int) -> list[FrameworkVersion]:
        """The newest version of each of the organisation's frameworks, by id."""
        rows = await self._db.fetchall(_LIVE, (org_id,))
        return [record(FrameworkVersion, row) for row in rows]

    async def versions(self, org_id: int, framework_id: str) -> list[FrameworkVersion]:
        """Every version of one of the organisation's frameworks, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM own_framework_versions WHERE org_id = ? AND framework_id = ?"
            " ORDER BY version",
            (org_id, framework_id),
        )
        return [record(FrameworkVersion, row) for row in rows]
