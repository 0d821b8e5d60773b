"""Moving a whole installation from its SQLite file into an empty PostgreSQL database.

Everything goes, table by table as the schema lists them (answers, sessions
mid-dialog, scripts and their versions, actions, the send log, and whatever a
later migration adds), in one PostgreSQL transaction read from one SQLite
snapshot: the copy is all of one moment or nothing. Rows are streamed with
PostgreSQL's COPY, parents before children, with the target's triggers off
(a done action copied must not queue its news again), and every table's count
is checked on both sides before the transaction commits.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.connection import Connection, PgConnection
from storage.errors import StorageError

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Bookkeeping of each backend's own, not data: its migrations are its own.
_NOT_COPIED = frozenset({"schema_version"})


class CopyRefused(StorageError):
    """The copy cannot start or could not finish; nothing was written."""


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    rows: int  # in the source, and the same in the target (checked)


def copy_into(target: Connection, source_file: Path, source_version: int) -> list[TableCount]:
    """Copy every table of the SQLite file at `source_file` into the empty `target`.

    `target` is the PostgreSQL connection of one `Database.run` transaction;
    `source_version` is the SQLite schema version this program knows, which the
    file must be at (open it once with `Database.open` to migrate it).
    """
    if not isinstance(target, PgConnection):
        raise CopyRefused("the copy goes into a PostgreSQL database")
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    try:
        source.execute("BEGIN")  # one snapshot, however long the copy takes
        version = int(source.execute("PRAGMA user_version").fetchone()[0])
        if version != source_version:
            raise CopyRefused(
                f"{source_file} is at schema version {version}, not {source_version}: "
                "open it once with this carecheck version first"
            )
        tables = _parents_first(source)
        for table in tables:
            _check_columns(source, target, table)
        _check_empty(target, tables)
        counts = [TableCount(table, _copy_table(source, target, table)) for table in tables]
        _advance_identities(target, tables)
    finally:
        source.close()
    for count in counts:
        row = target.execute(f'SELECT count(*) FROM "{count.table}"').fetchone()
        copied = row[0] if row is not None else None
        if copied != count.rows:
            raise CopyRefused(f"{count.table}: {count.rows} rows read but {copied} written")
    return counts


def _parents_first(source: sqlite3.Connection) -> list[str]:
    """The source's tables, each after the tables its foreign keys point at."""
    names = [
        row[0]
        for row in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    for name in names:
        if not _NAME.match(name):
            raise CopyRefused(f"unexpected table name {name!r} in the source")
    parents = {
        name: {
            row[0]
            for row in source.execute('SELECT "table" FROM pragma_foreign_key_list(?)', (name,))
            if row[0] != name
        }
        for name in names
        if name not in _NOT_COPIED
    }
    ordered: list[str] = []
    while parents:
        ready = sorted(name for name, needs in parents.items() if not needs - set(ordered))
        if not ready:
            raise CopyRefused(f"the foreign keys of {sorted(parents)} form a cycle")
        ordered.extend(ready)
        for name in ready:
            del parents[name]
    return ordered


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [row[0] for row in source.execute("SELECT name FROM pragma_table_info(?)", (table,))]


def _check_columns(source: sqlite3.Connection, target: Connection, table: str) -> None:
    theirs = {
        row[0]
        for row in target.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    }
    ours = set(_columns(source, table))
    if ours != theirs:
        missing = sorted(ours - theirs) or "none"
        extra = sorted(theirs - ours) or "none"
        raise CopyRefused(
            f"table {table} differs between the two schemas (only in the source: {missing}; "
            f"only in the target: {extra}); use the same carecheck version on both"
        )


def _check_empty(target: Connection, tables: list[str]) -> None:
    for table in tables:
        if target.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]:
            raise CopyRefused(
                f"the target already holds data (table {table}); copy into a new, empty database"
            )


def _copy_table(source: sqlite3.Connection, target: PgConnection, table: str) -> int:
    columns = _columns(source, table)
    listed = ", ".join(f'"{c}"' for c in columns)
    rows = 0
    target.raw.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    with target.raw.cursor().copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy:
        for row in _stream(source, f'SELECT {listed} FROM "{table}"'):
            copy.write_row(row)
            rows += 1
    target.raw.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    return rows


def _stream(source: sqlite3.Connection, sql: str) -> Iterator[tuple[object, ...]]:
    cursor = source.execute(sql)
    while batch := cursor.fetchmany(2000):
        yield from batch


def _advance_identities(target: Connection, tables: list[str]) -> None:
    """Ids were copied as they were: the next new row must not reuse one."""
    identities = target.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        if table not in tables:
            continue
        target.execute(
            f'SELECT setval(pg_get_serial_sequence(?, ?), max("{column}")) FROM "{table}" '
            f'HAVING max("{column}") IS NOT NULL',
            (table, column),
        )
