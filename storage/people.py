"""Staff, managers and admins, and their roles. Service users never appear here."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from storage.connection import Connection, Row
from storage.db import Database
from storage.rows import record
from storage.times import day_text

Role = Literal["staff", "manager", "admin"]


@dataclass(frozen=True)
class Person:
    id: int
    telegram_id: int
    language: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Membership:
    person_id: int
    org_id: int | None  # None: a global admin
    unit_id: int | None  # None: the whole organisation
    role: Role


@dataclass(frozen=True)
class SessionSpan:
    """The days a person's session ran, from its start to its last step."""

    org_id: int
    started_on: date
    updated_on: date


@dataclass(frozen=True)
class KeptMarks:
    """What a staff member's /forget keeps in one organisation: keyed marks, never the id.

    `window_mark` (the account's mark for this organisation and window) leads, until
    `until` (the window's last day), to the token their sessions of the window carry
    (those touched on or after `since`), so a rejoin in the window counts as the same
    respondent. `week_mark` records this week's finished check-ins until `week_until`,
    so a rejoin cannot check in a second time that week.
    """

    org_id: int
    since: date
    window_mark: str
    until: date
    week: str
    week_mark: str
    week_until: date


_MEMBERSHIPS = (
    "SELECT person_id, org_id, unit_id, role FROM memberships WHERE person_id = ?"
    " ORDER BY coalesce(org_id, 0), coalesce(unit_id, 0), role"
)


class PeopleRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_or_create(self, telegram_id: int, language: str) -> Person:
        """The person with this Telegram id; `language` only applies when it is created."""

        now = self._db.now_text()

        def get_or_create(conn: Connection) -> Person:
            conn.execute(
                "INSERT INTO people (telegram_id, language, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (telegram_id) DO NOTHING",
                (telegram_id, language, now),
            )
            row = conn.execute("SELECT * FROM people WHERE telegram_id = ?", (telegram_id,))
            return record(Person, row.fetchone())

        return await self._db.run(get_or_create)

    async def get(self, person_id: int) -> Person | None:
        row = await self._db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return None if row is None else record(Person, row)

    async def by_telegram(self, telegram_id: int) -> Person | None:
        row = await self._db.fetchone("SELECT * FROM people WHERE telegram_id = ?", (telegram_id,))
        return None if row is None else record(Person, row)

    async def with_memberships(self, telegram_id: int) -> tuple[Person | None, list[Membership]]:
        """The person and their memberships in one read: asked on every update."""

        def read(conn: Connection) -> tuple[Row | None, list[Row]]:
            person = conn.execute(
                "SELECT * FROM people WHERE telegram_id = ?", (telegram_id,)
            ).fetchone()
            if person is None:
                return None, []
            rows = conn.execute(_MEMBERSHIPS, (person["id"],)).fetchall()
            return person, rows

        person, rows = await self._db.run(read)
        if person is None:
            return None, []
        return record(Person, person), [record(Membership, r) for r in rows]

    async def set_language(self, person_id: int, language: str) -> bool:
        changed = await self._db.execute(
            "UPDATE people SET language = ? WHERE id = ?", (language, person_id)
        )
        return changed == 1

    async def set_active(self, person_id: int, active: bool) -> bool:
        """`active=False` is /stop: the person keeps their roles but gets no nudges."""
        changed = await self._db.execute(
            "UPDATE people SET active = ? WHERE id = ?", (int(active), person_id)
        )
        return changed == 1

    async def add_membership(
        self, person_id: int, org_id: int | None, unit_id: int | None, role: Role
    ) -> bool:
        """Grant a role; False if the person already had exactly this one."""
        changed = await self._db.execute(
            "INSERT INTO memberships (person_id, org_id, unit_id, role) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (person_id, org_id, unit_id, role),
        )
        return changed == 1

    async def memberships(self, person_id: int) -> list[Membership]:
        rows = await self._db.fetchall(_MEMBERSHIPS, (person_id,))
        return [record(Membership, r) for r in rows]

    async def staff_of(
        self, org_id: int, unit_id: int | None = None, *, active_only: bool = True
    ) -> list[Person]:
        """Staff of an organisation, or of one of its units when `unit_id` is given."""
        return await self._with_role(org_id, "staff", unit_id, active_only)

    async def managers_of(self, org_id: int, *, active_only: bool = True) -> list[Person]:
        """Every manager in the organisation, of the whole of it or of one unit."""
        return await self._with_role(org_id, "manager", None, active_only)

    async def _with_role(
        self, org_id: int, role: Role, unit_id: int | None, active_only: bool
    ) -> list[Person]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT p.* FROM people p JOIN memberships m ON m.person_id = p.id"
            " WHERE m.org_id = ?1 AND m.role = ?2 AND (CAST(?3 AS BIGINT) IS NULL OR"
            " m.unit_id = ?3)"
            " AND (?4 = 0 OR p.active = 1) ORDER BY p.id",
            (org_id, role, unit_id, int(active_only)),
        )
        return [record(Person, row) for row in rows]

    async def is_global_admin(self, telegram_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM people p JOIN memberships m ON m.person_id = p.id"
            " WHERE p.telegram_id = ? AND m.role = 'admin' AND m.org_id IS NULL",
            (telegram_id,),
        )
        return row is not None

    async def session_spans(self, person_id: int) -> list[SessionSpan]:
        """The days each of the person's sessions ran: what /forget keeps depends on them."""
        rows = await self._db.fetchall(
            "SELECT org_id, started_on, updated_on FROM sessions WHERE person_id = ?",
            (person_id,),
        )
        return [record(SessionSpan, row) for row in rows]

    async def forget(self, person_id: int, kept: Sequence[KeptMarks] = ()) -> bool:
        """/forget: delete the person, their roles, rotation and digest log.

        Their sessions and answers stay, unlinked, because they are part of
        aggregates other people already saw. Those of a window in `kept` carry the
        token its mark leads to until the window ends; all others one random token
        that leads nowhere, so the person still counts as one respondent.
        """

        def forget(conn: Connection) -> bool:
            for keep in kept:
                _keep_marks(conn, person_id, keep)
            conn.execute(
                "UPDATE sessions SET person_id = NULL, respondent = coalesce(respondent, ?)"
                " WHERE person_id = ?",
                (secrets.token_hex(8), person_id),
            )
            # The rest follows the foreign keys: CASCADE for memberships, rotations and
            # digests_sent; SET NULL for created_by / published_by.
            return conn.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount == 1

        return await self._db.run(forget, scrub=lambda _: True)

    async def menus(self) -> list[tuple[Person, str | None]]:
        """Everyone with a role, or with a menu set in their chat (a role they had has
        ended since), with the menu last set there (None: never)."""
        rows = await self._db.fetchall(
            "SELECT p.* FROM people p WHERE p.menu IS NOT NULL OR EXISTS"
            " (SELECT 1 FROM memberships m WHERE m.person_id = p.id) ORDER BY p.id"
        )
        return [(record(Person, row), row["menu"]) for row in rows]

    async def set_menu(self, person_id: int, menu: str | None) -> None:
        await self._db.execute("UPDATE people SET menu = ? WHERE id = ?", (menu, person_id))

    async def members_of(self, org_id: int) -> list[tuple[Person, list[Membership]]]:
        """Everyone with a role in the organisation, with those roles, by person id."""
        rows = await self._db.fetchall(
            "SELECT p.*, m.person_id, m.org_id, m.unit_id, m.role FROM people p"
            " JOIN memberships m ON m.person_id = p.id WHERE m.org_id = ?"
            " ORDER BY p.id, coalesce(m.unit_id, 0), m.role",
            (org_id,),
        )
        members: dict[int, tuple[Person, list[Membership]]] = {}
        for row in rows:
            person = members.setdefault(row["id"], (record(Person, row), []))
            person[1].append(record(Membership, row))
        return list(members.values())

    async def leave(self, person_id: int, org_id: int) -> int:
        """The person's roles in the organisation end, and a snooze there goes with them;
        their sessions and answers stay. Returns how many roles ended."""

        def leave(conn: Connection) -> int:
            conn.execute(
                "DELETE FROM snoozes WHERE person_id = ? AND org_id = ?", (person_id, org_id)
            )
            return conn.execute(
                "DELETE FROM memberships WHERE person_id = ? AND org_id = ?", (person_id, org_id)
            ).rowcount

        return await self._db.run(leave)

    async def admins(self, org_id: int | None) -> list[Person]:
        """The organisation's administrators (None: the global ones), by person id."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT p.* FROM people p JOIN memberships m ON m.person_id = p.id"
            " WHERE m.role = 'admin' AND m.org_id IS NOT DISTINCT FROM ? ORDER BY p.id",
            (org_id,),
        )
        return [record(Person, row) for row in rows]

    async def remove_admin(self, person_id: int, org_id: int | None) -> int:
        """End the person's administrator roles in the organisation (None: the global
        one); how many ended."""
        return await self._db.execute(
            "DELETE FROM memberships WHERE person_id = ? AND role = 'admin' AND org_id"
            " IS NOT DISTINCT FROM ?",
            (person_id, org_id),
        )

    async def with_role(self, role: Role) -> list[Person]:
        """Everyone with this role anywhere (admins: global ones too), for their command menu."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT p.* FROM people p JOIN memberships m ON m.person_id = p.id"
            " WHERE m.role = ? ORDER BY p.id",
            (role,),
        )
        return [record(Person, row) for row in rows]


def _keep_marks(conn: Connection, person_id: int, keep: KeptMarks) -> None:
    """Record this week's check-ins under the week's mark, and give the window's
    sessions the token of the window's mark (an earlier /forget's, if there was one)."""
    conn.execute(
        "INSERT INTO submissions (respondent_key, script_id, org_id, period, until)"
        " SELECT DISTINCT ?, v.script_id, s.org_id, s.period, ? FROM sessions s"
        " JOIN script_versions v ON v.id = s.script_version_id"
        " WHERE s.person_id = ? AND s.org_id = ? AND s.period = ? AND s.status = 'done'"
        " ON CONFLICT DO NOTHING",
        (keep.week_mark, day_text(keep.week_until), person_id, keep.org_id, keep.week),
    )
    conn.execute(
        "INSERT INTO respondent_marks (mark, token, until) VALUES (?, ?, ?)"
        " ON CONFLICT (mark) DO NOTHING",
        (keep.window_mark, secrets.token_hex(8), day_text(keep.until)),
    )
    conn.execute(
        "UPDATE sessions SET person_id = NULL, respondent = coalesce(respondent,"
        " (SELECT token FROM respondent_marks WHERE mark = ?))"
        " WHERE person_id = ? AND org_id = ? AND updated_on >= ?",
        (keep.window_mark, person_id, keep.org_id, day_text(keep.since)),
    )
