"""The database handle: one aiosqlite connection, migrated on open.

Every statement runs on aiosqlite's single worker thread, so within a process all
transactions are serialised; across processes `BEGIN IMMEDIATE` and the busy
timeout take over.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite

from storage import migrate
from storage.errors import DamagedCopy
from storage.migrate import Migration
from storage.times import Clock, instant_text

T = TypeVar("T")

# Positional (?) or named (:name) parameters, as sqlite3 takes them.
Params = Sequence[Any] | Mapping[str, Any]

MEMORY = ":memory:"


class Database:
    """An open, migrated carecheck database. Create it with `await Database.open(path)`."""

    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Clock) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        clock: Clock,
        migrations: Sequence[Migration] | None = None,
    ) -> Database:
        """Connect, set the pragmas and apply pending migrations.

        `clock` stamps every stored instant (created, published, sent...): the
        schema has no default of "now", so a test or a moved-clock run decides
        what time it is. `migrations` replaces the bundled ones, for tests of the
        migration machinery.
        """
        location = str(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, the sqlite3 module never does.
        conn = await aiosqlite.connect(location, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn._execute(_prepare, conn._conn, location != MEMORY, migrations)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, location, clock)

    def now_text(self) -> str:
        """The clock's instant in the stored text form."""
        return instant_text(self.clock())

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` as one write transaction on the worker thread, in one hop.

        This is how every multi-statement write goes: the whole transaction is a
        single queue item for aiosqlite's thread, instead of one await (and two
        thread switches) per statement. That, more than SQLite itself, is what
        sets the answers-per-second ceiling. `fn` runs on the worker thread: it
        must only use `conn`, never touch the event loop, and never commit.
        It commits if `fn` returns and rolls back if it raises.
        """
        return await self._conn._execute(_transaction, self._conn._conn, fn)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._conn._execute(_fetchall, self._conn._conn, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._conn._execute(_fetchone, self._conn._conn, sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed."""
        return await self._conn._execute(_execute, self._conn._conn, sql, params)

    async def schema_version(self) -> int:
        return await self._conn._execute(migrate.schema_version, self._conn._conn)

    async def backup(self, path: str | Path) -> None:
        """Write a consistent copy of the live database to `path` (SQLite online backup).

        Runs on the worker thread like everything else, so writers simply queue
        behind it. The copy is written beside `path` and renamed into place:
        `path` never holds a half-written backup.
        """
        await self._conn._execute(_backup, self._conn._conn, self.path, Path(path))


def check_copy(path: str | Path) -> tuple[int, int]:
    """Open a backup on its own, read-only, and count its answers and sessions.

    A copy is only worth keeping if it opens and holds what it should; raises
    `DamagedCopy` when SQLite's integrity check finds it broken.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise DamagedCopy(verdict)
        answers = conn.execute("SELECT count(*) FROM answers").fetchone()[0]
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    finally:
        conn.close()
    return int(answers), int(sessions)


def _prepare(
    conn: sqlite3.Connection, is_file: bool, migrations: Sequence[Migration] | None
) -> None:
    # busy_timeout first: switching to WAL needs a lock another process may hold.
    conn.execute("PRAGMA busy_timeout = 5000")
    if is_file:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    steps = migrate.bundled() if migrations is None else migrate.check_sequence(migrations)
    migrate.apply(conn, steps)


def _backup(conn: sqlite3.Connection, source: str, target: Path) -> None:
    if source != MEMORY and target.resolve() == Path(source).resolve():
        raise ValueError("a backup cannot overwrite the database it copies")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            conn.backup(copy)
            # The copy of a WAL database is in WAL mode too; fold it back into a single file.
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _fetchall(conn: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _fetchone(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone()
    finally:
        # Resets the statement: an unfinished one would hold its (implicit) transaction open.
        cursor.close()


def _execute(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount
