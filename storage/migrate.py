"""Numbered schema migrations (`migrations/NNNN_name.sql`), tracked in `PRAGMA user_version`.

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

from storage.errors import MigrationError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_KEYS_OFF = "-- carecheck: foreign_keys=off"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled() -> tuple[Migration, ...]:
    """The migrations shipped in the package, checked to be numbered 1, 2, 3... without gaps."""
    folder = resources.files("storage") / "migrations"
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
