"""The database handle: one connection on a thread of its own, migrated on open.

The connection is SQLite's (a file, the default) or PostgreSQL's (`postgresql://`
or `postgres://` URL, through psycopg 3's sync driver): see `storage.connection`.
Every statement runs on that one thread, so within a process all transactions
are serialised; across processes `BEGIN IMMEDIATE` (SQLite) or the write lock
below (PostgreSQL) take over. The thread is ours rather than aiosqlite's or an
async driver's because a whole transaction must be one job for it (one hop from
the event loop and back, however many statements), and a statement-at-a-time
async API would make every repository function async.

PostgreSQL runs READ COMMITTED, and every `run()` transaction first takes one
transaction-level advisory lock, the write lock. That is exactly what SQLite's
BEGIN IMMEDIATE gave every repository function: one writer at a time, so a
read-then-write inside `fn` is never interleaved with another writer, while plain
reads never wait. Finer row locks (or SERIALIZABLE with retries, which would
need every `fn` free of side effects) can come where several replicas make the
one lock a bottleneck; correctness does not depend on an audit of every
repository's reads.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from queue import SimpleQueue
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg

from storage import migrate
from storage.connection import (
    Connection,
    Dialect,
    Params,
    PgConnection,
    Row,
    SqliteConnection,
)
from storage.errors import DamagedCopy, StorageError
from storage.migrate import Migration
from storage.times import Clock, instant_text

log = logging.getLogger(__name__)
T = TypeVar("T")

MEMORY = ":memory:"
_PG_SCHEMES = ("postgresql://", "postgres://")
# The write lock of every PostgreSQL transaction run() starts (see the module's docstring).
_WRITE_LOCK = 0x6361726563686B77  # "carechkw"

# What the database thread is asked to do: a function of the connection, and the
# future of the event loop waiting for its result (None: nobody waits).
_Job = tuple[asyncio.Future[Any] | None, Callable[[Any], Any]]


def dialect_of(location: str | Path) -> Dialect:
    """PostgreSQL for a `postgresql://` or `postgres://` URL, SQLite for anything else."""
    return "postgresql" if str(location).startswith(_PG_SCHEMES) else "sqlite"


def sqlite_path(location: str | Path) -> str:
    """The file of a SQLite location: a path, or `sqlite:` and a path."""
    text = str(location)
    return (
        text.removeprefix("sqlite://").removeprefix("sqlite:")
        if text.startswith("sqlite:")
        else text
    )


class Database:
    """An open, migrated carecheck database. Create it with `await Database.open(path)`."""

    def __init__(self, jobs: SimpleQueue[_Job], path: str, clock: Clock, dialect: Dialect) -> None:
        self._jobs = jobs
        self.dialect: Dialect = dialect
        self._closed = False
        # An instance dropped without close() still stops its thread and closes the file.
        self._finalizer = weakref.finalize(self, jobs.put, (None, _close))
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

        `path` is a SQLite file (or `sqlite:` and a file, or ":memory:"), or a
        PostgreSQL URL (`postgresql://...`), which selects PostgreSQL.

        `clock` stamps every stored instant (created, published, sent...): the
        schema has no default of "now", so a test or a moved-clock run decides
        what time it is. `migrations` replaces the bundled ones, for tests of the
        migration machinery.
        """
        dialect = dialect_of(path)
        if dialect == "postgresql":
            return await cls._open_pg(str(path), clock, migrations)
        location = sqlite_path(path)
        jobs: SimpleQueue[_Job] = SimpleQueue()
        # A daemon: a handle nobody closed must not keep the process alive at exit.
        threading.Thread(
            target=_serve,
            args=(lambda: _connect_sqlite(location), jobs),
            name="carecheck-db",
            daemon=True,
        ).start()
        db = cls(jobs, location, clock, "sqlite")
        try:
            await db._call(lambda conn: _prepare(conn, location != MEMORY, migrations))
        except sqlite3.DatabaseError as error:
            await db.close()
            if isinstance(error, sqlite3.OperationalError):
                raise StorageError(f"cannot open the database {location}: {error}") from None
            raise StorageError(
                f"{location} is not a carecheck database (SQLite: {error}); "
                "point CARECHECK_DB at the right file, or at a new one"
            ) from None
        except BaseException:
            await db.close()
            raise
        return db

    @classmethod
    async def _open_pg(
        cls, url: str, clock: Clock, migrations: Sequence[Migration] | None
    ) -> Database:
        jobs: SimpleQueue[_Job] = SimpleQueue()
        threading.Thread(
            target=_serve,
            args=(lambda: PgConnection.connect(url), jobs),
            name="carecheck-db",
            daemon=True,
        ).start()
        db = cls(jobs, _redacted(url), clock, "postgresql")
        steps = (
            migrate.bundled("postgresql")
            if migrations is None
            else migrate.check_sequence(migrations)
        )
        try:
            await db._call(lambda conn: migrate.apply_pg(conn, steps))
        except psycopg.Error as error:
            await db.close()
            raise StorageError(
                f"cannot open the database {db.path}: {_first_line(error)}"
            ) from None
        except BaseException:
            await db.close()
            raise
        return db

    def now_text(self) -> str:
        """The clock's instant in the stored text form."""
        return instant_text(self.clock())

    async def close(self) -> None:
        """Close the connection once every job queued before has run; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, _close))
        await future

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def run(
        self, fn: Callable[[Connection], T], *, scrub: Callable[[T], bool] | None = None
    ) -> T:
        """Run `fn(conn)` as one write transaction on the database thread, in one hop.

        This is how every multi-statement write goes: the whole transaction is a
        single job for the thread, instead of one await (and two thread
        switches) per statement. That, more than SQLite itself, is what sets the
        answers-per-second ceiling. `fn` runs on the database thread: it must
        only use `conn`, never touch the event loop, and never commit. It
        commits if `fn` returns and rolls back if it raises.

        `scrub(result)` true: what the transaction removed must leave the files too. With
        secure_delete the database's own pages are zeroed, but the write-ahead log still
        holds the pages as they were; it is checkpointed into the database and truncated
        to nothing, in the same hop.
        """
        # PostgreSQL has no secure_delete or log of ours to truncate: the rows go, the
        # server's pages and WAL keep the bytes until reused (ARCHITECTURE.md).
        if scrub is None or self.dialect == "postgresql":
            return await self._call(lambda conn: _transaction(conn, fn))
        return await self._call(lambda conn: _scrubbed(conn, _transaction(conn, fn), scrub))

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._call(lambda conn: _fetchall(conn, sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._call(lambda conn: _fetchone(conn, sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed."""
        return await self._call(lambda conn: _execute(conn, sql, params))

    async def schema_version(self) -> int:
        if self.dialect == "postgresql":
            return await self._call(migrate.schema_version_pg)
        return await self._call(migrate.schema_version)

    async def backup(self, path: str | Path) -> None:
        """Write a consistent copy of the live database to `path` (SQLite online backup).

        Runs on the database thread like everything else, so writers simply
        queue behind it. The copy is written beside `path` and renamed into
        place: `path` never holds a half-written backup.
        """
        if self.dialect == "postgresql":
            raise ValueError(
                "carecheck backup copies SQLite files; back a PostgreSQL database up with pg_dump"
            )
        target = Path(path)
        await self._call(lambda conn: _backup(conn, self.path, target))

    async def _call(self, fn: Callable[[Any], T]) -> T:
        """Queue `fn` for the database thread and wait for what it returns or raises.

        If the caller is cancelled meanwhile, the job still runs to its end (a
        transaction is never cut in half); only its result is dropped.
        """
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, fn))
        return await future


def _connect_sqlite(location: str) -> SqliteConnection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, the sqlite3 module never does.
    conn = sqlite3.connect(location, isolation_level=None, factory=SqliteConnection)
    conn.row_factory = sqlite3.Row
    return conn


def _redacted(url: str) -> str:
    """The URL without its password, fit for a log line or an error message."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return url.split("@")[-1]
    host = info.get("host") or "localhost"
    return f"postgresql://{info.get('user') or ''}@{host}/{info.get('dbname') or ''}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _serve(connect: Callable[[], Any], jobs: SimpleQueue[_Job]) -> None:
    """The database thread: the one owner of the connection, running jobs in order."""
    try:
        conn = connect()
    except BaseException as error:
        _refuse(jobs, error)
        return
    while True:
        future, fn = jobs.get()
        failure: BaseException | None = None
        try:
            result = fn(conn)
        except BaseException as error:
            result, failure = None, error
        _settle(future, result, failure)
        if fn is _close:
            return
        if failure is not None and getattr(conn, "broken", False):
            conn = _reconnected(conn, connect)


def _reconnected(conn: Any, connect: Callable[[], Any]) -> Any:
    """A PostgreSQL connection lost (server restarted, failover): a new one for the next job.

    The job that met the loss has failed with the driver's error; if no new connection
    can be made yet, the next job fails too and tries again.
    """
    try:
        fresh = connect()
    except Exception as error:
        log.warning("the database connection is lost and cannot be made again yet: %s", error)
        return conn
    log.warning("the database connection was lost; connected again")
    conn.close()
    return fresh


def _refuse(jobs: SimpleQueue[_Job], error: BaseException) -> None:
    """Without a connection: fail every job with the reason, until asked to close."""
    while True:
        future, fn = jobs.get()
        if fn is _close:
            _settle(future, None, None)
            return
        _settle(future, None, error)


def _close(conn: SqliteConnection | PgConnection) -> None:
    conn.close()


def _settle(future: asyncio.Future[Any] | None, result: Any, error: BaseException | None) -> None:
    """Hand a job's outcome to the event loop that waits for it (from the database thread)."""
    if future is None:
        return
    try:
        future.get_loop().call_soon_threadsafe(_resolve, future, result, error)
    except RuntimeError:
        return  # the loop is closed: nobody is waiting any more


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # the caller was cancelled; the job ran regardless
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


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
    # What is deleted or overwritten is zeroed, not left in free space for a file reader.
    conn.execute("PRAGMA secure_delete = ON")
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


def _transaction(conn: SqliteConnection | PgConnection, fn: Callable[[Connection], T]) -> T:
    if conn.dialect == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_WRITE_LOCK,))
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _scrubbed(conn: sqlite3.Connection, result: T, scrub: Callable[[T], bool]) -> T:
    if scrub(result):
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning(
                "the write-ahead log is in use by another reader: what was removed stays in it"
                " until the next checkpoint"
            )
    return result


def _fetchall(conn: Connection, sql: str, params: Params) -> list[Row]:
    return conn.execute(sql, params).fetchall()


def _fetchone(conn: Connection, sql: str, params: Params) -> Row | None:
    cursor = conn.execute(sql, params)
    try:
        row: Row | None = cursor.fetchone()
        return row
    finally:
        # Resets the statement: an unfinished one would hold its (implicit) transaction open.
        cursor.close()


def _execute(conn: Connection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount
