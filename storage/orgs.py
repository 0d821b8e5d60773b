"""Organisations, their settings, and their units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.connection import INTEGRITY_ERRORS, Connection, Row, refused_by
from storage.db import Database
from storage.errors import AlreadyExists, NotFound
from storage.rows import record
from storage.times import day, day_text

DEFAULT_ORG_NAME = "Local organisation"

# The settings an admin may change; the names are the column names.
SETTINGS = (
    "name",
    "timezone",
    "language",
    "k_threshold",
    "lens",
    "checkin_weekday",
    "checkin_hour",
    "retention_months",
    "gap_threshold",
)


@dataclass(frozen=True)
class Org:
    id: int
    name: str
    timezone: str
    language: str
    k_threshold: int
    lens: str
    checkin_weekday: int
    checkin_hour: int
    retention_months: int
    is_demo: bool
    created_at: datetime
    gap_threshold: float


@dataclass(frozen=True)
class Unit:
    id: int
    org_id: int
    name: str
    archived_on: date | None  # archived: kept for its answers, offered nowhere new


@dataclass(frozen=True)
class ArchivedUnit:
    """What archiving a unit changed."""

    org_id: int
    invites_revoked: int
    staff_moved: int  # to the whole organisation
    roles_ended: int  # managers' and admins' roles limited to the unit


class OrgRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_org(
        self,
        name: str,
        timezone: str = "Europe/Ljubljana",
        language: str = "en",
        k: int = 5,
        is_demo: bool = False,
    ) -> int:
        row = await self._db.fetchone(
            "INSERT INTO organisations (name, timezone, language, k_threshold, is_demo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (name, timezone, language, k, int(is_demo), self._db.now_text()),
        )
        assert row is not None
        return int(row["id"])

    async def get_org(self, org_id: int) -> Org | None:
        row = await self._db.fetchone("SELECT * FROM organisations WHERE id = ?", (org_id,))
        return None if row is None else record(Org, row)

    async def list_orgs(self) -> list[Org]:
        rows = await self._db.fetchall("SELECT * FROM organisations ORDER BY id")
        return [record(Org, row) for row in rows]

    async def default_org(self) -> Org:
        """The organisation of a single-organisation installation, created on first use."""

        now = self._db.now_text()

        def get_or_create(conn: Connection) -> Org:
            row = conn.execute(
                "SELECT * FROM organisations WHERE name = ? ORDER BY id LIMIT 1",
                (DEFAULT_ORG_NAME,),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "INSERT INTO organisations (name, created_at) VALUES (?, ?) RETURNING *",
                    (DEFAULT_ORG_NAME, now),
                ).fetchone()
            return record(Org, row)

        return await self._db.run(get_or_create)

    async def update_settings(
        self,
        org_id: int,
        *,
        name: str | None = None,
        timezone: str | None = None,
        language: str | None = None,
        k_threshold: int | None = None,
        lens: str | None = None,
        checkin_weekday: int | None = None,
        checkin_hour: int | None = None,
        retention_months: int | None = None,
        gap_threshold: float | None = None,
        window: tuple[date, int] | None = None,
    ) -> Org:
        """Change the given settings (None = keep), and with `window` (start day, weeks)
        start a window segment, all in one transaction; returns the organisation as stored."""
        given = {
            "name": name,
            "timezone": timezone,
            "language": language,
            "k_threshold": k_threshold,
            "lens": lens,
            "checkin_weekday": checkin_weekday,
            "checkin_hour": checkin_hour,
            "retention_months": retention_months,
            "gap_threshold": gap_threshold,
        }
        changes = {column: value for column, value in given.items() if value is not None}
        # Column names come from the fixed SETTINGS tuple, never from the caller.
        assignments = ", ".join(f"{column} = ?" for column in SETTINGS if column in changes)
        values = [changes[column] for column in SETTINGS if column in changes]

        def update(conn: Connection) -> Row | None:
            if assignments:
                conn.execute(
                    f"UPDATE organisations SET {assignments} WHERE id = ?", [*values, org_id]
                )
            row: Row | None = conn.execute(
                "SELECT * FROM organisations WHERE id = ?", (org_id,)
            ).fetchone()
            if row is not None and window is not None:
                _start_segment(conn, org_id, *window)
            return row

        row = await self._db.run(update)
        if row is None:
            raise NotFound(f"organisation {org_id} does not exist")
        return record(Org, row)

    async def window_segments(self, org_id: int) -> list[tuple[date, int]]:
        """The organisation's window segments (start day, weeks), oldest first."""
        rows = await self._db.fetchall(
            "SELECT starts_on, weeks FROM window_plans WHERE org_id = ? ORDER BY starts_on",
            (org_id,),
        )
        return [(day(row["starts_on"]), int(row["weeks"])) for row in rows]

    async def every_window_segment(self) -> dict[int, list[tuple[date, int]]]:
        """Every organisation's window segments, oldest first; one with none is absent."""
        rows = await self._db.fetchall(
            "SELECT org_id, starts_on, weeks FROM window_plans ORDER BY org_id, starts_on"
        )
        plans: dict[int, list[tuple[date, int]]] = {}
        for row in rows:
            plans.setdefault(int(row["org_id"]), []).append((day(row["starts_on"]), row["weeks"]))
        return plans

    async def start_window_segment(self, org_id: int, starts_on: date, weeks: int) -> None:
        """Windows of `weeks` weeks from `starts_on`; a later segment, never released, goes."""

        def start(conn: Connection) -> None:
            found = conn.execute("SELECT 1 FROM organisations WHERE id = ?", (org_id,))
            if found.fetchone() is None:
                raise NotFound(f"organisation {org_id} does not exist")
            _start_segment(conn, org_id, starts_on, weeks)

        await self._db.run(start)

    async def create_unit(self, org_id: int, name: str) -> int:
        try:
            row = await self._db.fetchone(
                "INSERT INTO units (org_id, name) VALUES (?, ?) RETURNING id", (org_id, name)
            )
        except INTEGRITY_ERRORS as exc:
            if refused_by(exc) == "unique":
                raise AlreadyExists(f"organisation {org_id} has a unit named {name!r}") from exc
            if refused_by(exc) == "foreign_key":
                raise NotFound(f"organisation {org_id} does not exist") from exc
            raise
        assert row is not None
        return int(row["id"])

    async def get_unit(self, unit_id: int) -> Unit | None:
        row = await self._db.fetchone("SELECT * FROM units WHERE id = ?", (unit_id,))
        return None if row is None else record(Unit, row)

    async def list_units(self, org_id: int, *, archived: bool = True) -> list[Unit]:
        """The organisation's units by name; `archived=False` leaves the archived out."""
        rows = await self._db.fetchall(
            "SELECT * FROM units WHERE org_id = ? AND (? <> 0 OR archived_on IS NULL) ORDER"
            " BY name",
            (org_id, int(archived)),
        )
        return [record(Unit, row) for row in rows]

    async def rename_unit(self, unit_id: int, name: str) -> bool:
        """False when there is no such unit; `AlreadyExists` when its organisation has the name."""
        try:
            changed = await self._db.execute(
                "UPDATE units SET name = ? WHERE id = ?", (name, unit_id)
            )
        except INTEGRITY_ERRORS as exc:
            raise AlreadyExists(f"a unit named {name!r} exists already") from exc
        return changed == 1

    async def archive_unit(self, unit_id: int, on: date) -> ArchivedUnit | None:
        """Archive a unit in one transaction; None if there is no such unit.

        Its open invitation links are withdrawn; its staff become staff of the whole
        organisation (they keep their check-ins, and their answers no longer go to a
        unit nobody is offered); a manager's or admin's role limited to it ends, since
        the same role over the whole organisation would be more than they had. Answers
        given in it stay, so the organisation's scores keep them.
        """
        now = self._db.now_text()

        def archive(conn: Connection) -> ArchivedUnit | None:
            row = conn.execute(
                "UPDATE units SET archived_on = coalesce(archived_on, ?) WHERE id = ?"
                " RETURNING org_id",
                (day_text(on), unit_id),
            ).fetchone()
            if row is None:
                return None
            org_id = int(row["org_id"])
            revoked = conn.execute(
                "UPDATE invites SET revoked_at = ? WHERE unit_id = ? AND revoked_at IS NULL",
                (now, unit_id),
            ).rowcount
            # Staff with an organisation-wide staff role already keep only that one.
            conn.execute(
                "DELETE FROM memberships WHERE unit_id = ?1 AND role = 'staff' AND EXISTS"
                " (SELECT 1 FROM memberships o WHERE o.person_id = memberships.person_id"
                " AND o.org_id = ?2 AND o.unit_id IS NULL AND o.role = 'staff')",
                (unit_id, org_id),
            )
            moved = conn.execute(
                "UPDATE memberships SET unit_id = NULL WHERE unit_id = ? AND role = 'staff'",
                (unit_id,),
            ).rowcount
            ended = conn.execute("DELETE FROM memberships WHERE unit_id = ?", (unit_id,)).rowcount
            return ArchivedUnit(org_id, revoked, moved, ended)

        return await self._db.run(archive)


def _start_segment(conn: Connection, org_id: int, starts_on: date, weeks: int) -> None:
    """Windows of `weeks` weeks from `starts_on`; a later segment, never released, goes."""
    on = day_text(starts_on)
    conn.execute("DELETE FROM window_plans WHERE org_id = ? AND starts_on >= ?", (org_id, on))
    conn.execute(
        "INSERT INTO window_plans (org_id, starts_on, weeks) VALUES (?, ?, ?)",
        (org_id, on, weeks),
    )
