"""The demo organisation's staff, roles, finished sessions and answers, stored in bulk.

Thousands of rows go in with `executemany` inside one transaction, so a demo
appears whole or not at all. Rows refer to each other by their position in
these lists; the database ids are assigned up front inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from storage.connection import Connection
from storage.db import Database
from storage.people import Role
from storage.sessions import Audience
from storage.times import day_text


class DemoPerson(NamedTuple):
    telegram_id: int
    language: str


class DemoMembership(NamedTuple):
    person: int  # position in `DemoRows.people`
    org_id: int
    unit_id: int
    role: Role


class DemoSession(NamedTuple):
    """A finished session; `answers` is its count, which is also its revision."""

    script_version_id: int
    org_id: int
    unit_id: int
    audience: Audience
    person: int | None  # position in `DemoRows.people`; None for a service user
    period: str
    answers: int
    day: date


class DemoAnswer(NamedTuple):
    session: int  # position in `DemoRows.sessions`
    question_id: str
    score: float | None
    value_num: float | None
    value_text: str | None
    not_applicable: bool
    skipped: bool
    comment: str | None
    answered_on: date
    org_id: int
    unit_id: int
    audience: Audience
    period: str
    script_version_id: int


@dataclass(frozen=True)
class DemoRows:
    """Everything the single write transaction inserts."""

    people: list[DemoPerson]
    memberships: list[DemoMembership]
    sessions: list[DemoSession]
    answers: list[DemoAnswer]


async def fill_demo(db: Database, rows: DemoRows) -> None:
    """Insert the rows in one transaction; the people are created at the clock's now."""
    created = db.now_text()
    await db.run(lambda conn: _insert(conn, rows, created))


def _insert(conn: Connection, rows: DemoRows, created: str) -> None:
    person_base = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM people").fetchone()[0]
    session_base = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM sessions").fetchone()[0]
    conn.executemany(
        "INSERT INTO people (id, telegram_id, language, created_at) VALUES (?, ?, ?, ?)",
        [(person_base + i, p.telegram_id, p.language, created) for i, p in enumerate(rows.people)],
    )
    conn.executemany(
        "INSERT INTO memberships (person_id, org_id, unit_id, role) VALUES (?, ?, ?, ?)",
        [(person_base + m.person, m.org_id, m.unit_id, m.role) for m in rows.memberships],
    )
    conn.executemany(
        "INSERT INTO sessions (id, script_version_id, org_id, unit_id, audience, person_id,"
        " period, status, revision, started_on, updated_on, completed_on)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?, ?)",
        [
            (
                session_base + i, s.script_version_id, s.org_id, s.unit_id, s.audience,
                None if s.person is None else person_base + s.person,
                s.period, s.answers, day_text(s.day), day_text(s.day), day_text(s.day),
            )
            for i, s in enumerate(rows.sessions)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO answers (session_id, question_id, score, value_num, value_text,"
        " not_applicable, skipped, comment, answered_on, org_id, unit_id, audience, period,"
        " script_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (session_base + a.session, *a[1:8], day_text(a.answered_on), *a[9:])
            for a in rows.answers
        ],
    )
    if conn.dialect == "postgresql":
        # Ids given explicitly leave PostgreSQL's identity sequences behind; catch them up.
        for table in ("people", "sessions"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
