"""Numbered schema migrations per backend (`migrations/<dialect>/NNNN_name.sql`).

SQLite's version is `PRAGMA user_version`; PostgreSQL's is the table
`schema_version`. The two backends are numbered on their own: PostgreSQL starts
from the schema as it is now, SQLite keeps its history. tests/test_schema_parity.py
checks that both end at the same tables, columns and keys.

Each migration runs in its own write transaction together with the version bump,
so a failing migration leaves the database exactly at the previous version.

A migration that rebuilds tables starts with the line `-- carecheck: foreign_keys=off`:
foreign keys are then off around its transaction (dropping a parent table would
otherwise cascade), and every key is checked before it commits.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

from storage.connection import Dialect, PgConnection
from storage.errors import MigrationError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_KEYS_OFF = "-- carecheck: foreign_keys=off"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


# Any number that is ours alone: the advisory lock replicas take to migrate one at a time.
_MIGRATION_LOCK = 0x6361726563686B31  # "carechk1"


def bundled(dialect: Dialect = "sqlite") -> tuple[Migration, ...]:
    """The migrations shipped for a backend, checked to be numbered 1, 2, 3... without gaps."""
    root = resources.files("storage") / "migrations"
    stray = sorted(entry.name for entry in root.iterdir() if _NAME.match(entry.name))
    if stray:
        # A migration written before the backends had folders of their own would be
        # silently skipped; refuse instead.
        raise MigrationError(
            f"{', '.join(stray)} must move to storage/migrations/sqlite/ (with its PostgreSQL"
            " counterpart in storage/migrations/postgresql/)"
        )
    folder = root / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return check_sequence(found)


def check_sequence(migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migrations must be numbered 1, 2, 3... without gaps; "
                f"expected {expected:04d}, found {migration.name}"
            )
    return ordered


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Bring the schema up to the last migration; returns the final version.

    Needs a connection in autocommit mode (`isolation_level=None`). The version
    is re-read under the write lock, so two processes opening one file at once
    do not apply a migration twice.
    """
    known = len(migrations)
    current = schema_version(conn)
    if current > known:
        raise MigrationError(
            f"the database is at schema version {current}, but this program only knows "
            f"versions up to {known}; upgrade carecheck or use a matching backup"
        )
    for migration in migrations[current:]:
        rebuilds = migration.sql.startswith(_KEYS_OFF)
        keys_on = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        if rebuilds:
            conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction
        try:
            _apply_one(conn, migration, check_keys=rebuilds)
        finally:
            if rebuilds and keys_on:
                conn.execute("PRAGMA foreign_keys = ON")
    return schema_version(conn)


def apply_pg(conn: PgConnection, migrations: Sequence[Migration]) -> int:
    """PostgreSQL: every pending migration in one transaction, under an advisory lock.

    Two replicas starting together queue on `pg_advisory_xact_lock`; the second
    then reads the version the first committed and has nothing left to do. DDL
    is transactional in PostgreSQL, so a failing migration leaves nothing behind.
    """
    raw = conn.raw
    raw.execute("BEGIN")
    try:
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = raw.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0) if row else 0
        if current > len(migrations):
            raise MigrationError(
                f"the database is at schema version {current}, but this program only knows "
                f"versions up to {len(migrations)}; upgrade carecheck or use a matching backup"
            )
        for migration in migrations[current:]:
            try:
                raw.execute(migration.sql.encode())  # several statements: no parameters
            except Exception as exc:
                raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
            raw.execute("DELETE FROM schema_version")
            raw.execute("INSERT INTO schema_version (version) VALUES (%s)", (migration.version,))
            current = migration.version
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    return current


def schema_version_pg(conn: PgConnection) -> int:
    row = conn.raw.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def _apply_one(conn: sqlite3.Connection, migration: Migration, *, check_keys: bool) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        if schema_version(conn) >= migration.version:
            conn.execute("ROLLBACK")
            return
        for statement in _statements(migration.sql):
            conn.execute(statement)
        if check_keys and conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise MigrationError(f"migration {migration.name} would break a foreign key")
        conn.execute(f"PRAGMA user_version = {migration.version:d}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(sql: str) -> Iterator[str]:
    """Split a script into statements; `executescript` would commit our transaction."""
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            pending = ""
            if statement.strip(";").strip() and not _only_comments(statement):
                yield statement
    if pending.strip() and not _only_comments(pending):
        raise MigrationError(f"unterminated statement at the end of a migration: {pending!r}")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
