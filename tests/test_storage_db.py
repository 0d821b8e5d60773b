"""The database handle: pragmas, migrations, transactions and backups."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Database, MigrationError, StorageError
from storage.connection import Connection
from storage.migrate import Migration, bundled
from tests.fake_clock import FakeClock

CLOCK = FakeClock()

EXPECTED_TABLES = {
    "organisations",
    "units",
    "people",
    "memberships",
    "invites",
    "script_versions",
    "active_scripts",
    "question_items",
    "sessions",
    "answers",
    "submissions",
    "rotations",
    "actions",
    "digests_sent",
}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "carecheck.db", clock=CLOCK) as database:
        yield database


@pytest.fixture
async def any_db(db_location: str) -> AsyncIterator[Database]:
    """The transaction machinery's tests run on SQLite and on PostgreSQL."""
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


def test_bundled_migrations_are_numbered_from_one() -> None:
    migrations = bundled()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_initial.sql"


async def test_empty_database_gets_the_whole_schema(db: Database) -> None:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    assert {row["name"] for row in rows} >= EXPECTED_TABLES
    assert await db.schema_version() == len(bundled())


async def test_pragmas_on_a_file_database(db: Database) -> None:
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] == 5000
    assert (await db.fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL


async def test_memory_database_is_migrated_and_enforces_foreign_keys() -> None:
    async with await Database.open(":memory:", clock=CLOCK) as db:
        assert await db.schema_version() == len(bundled())
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute("INSERT INTO units (org_id, name) VALUES (999, 'nowhere')")


async def test_reopening_a_current_database_keeps_data_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, clock=CLOCK) as db:
        await db.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Kept', '2026-11-23T10:00:00Z')"
        )
        schema = await db.fetchall("SELECT sql FROM sqlite_master ORDER BY name")
    async with await Database.open(path, clock=CLOCK) as db:
        assert await db.schema_version() == len(bundled())
        names = await db.fetchall("SELECT name FROM organisations")
        assert [r["name"] for r in names] == ["Kept"]
        again = await db.fetchall("SELECT sql FROM sqlite_master ORDER BY name")
        assert [r["sql"] for r in again] == [r["sql"] for r in schema]


async def test_a_database_at_version_one_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, migrations=bundled()[:1], clock=CLOCK) as db:
        assert await db.schema_version() == 1
        await db.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Before', '2026-11-23T10:00:00Z')"
        )
    async with await Database.open(path, clock=CLOCK) as db:
        assert await db.schema_version() == len(bundled())
        assert (await db.fetchone("SELECT name FROM organisations"))["name"] == "Before"


async def test_a_new_migration_applies_on_top_of_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, clock=CLOCK) as db:
        await db.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Before', '2026-11-23T10:00:00Z')"
        )
    number = len(bundled()) + 1
    step = Migration(
        number, f"{number:04d}_notes.sql", "ALTER TABLE organisations ADD COLUMN note TEXT;"
    )
    async with await Database.open(path, migrations=[*bundled(), step], clock=CLOCK) as db:
        assert await db.schema_version() == number
        row = await db.fetchone("SELECT name, note FROM organisations")
        assert (row["name"], row["note"]) == ("Before", None)


async def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, clock=CLOCK):
        pass
    number = len(bundled()) + 1
    broken = Migration(
        number,
        f"{number:04d}_broken.sql",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(MigrationError, match=rf"{number:04d}_broken\.sql"):
        await Database.open(path, migrations=[*bundled(), broken], clock=CLOCK)
    async with await Database.open(path, clock=CLOCK) as db:
        assert await db.schema_version() == number - 1
        assert await db.fetchone("SELECT 1 FROM sqlite_master WHERE name = 'half_done'") is None


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, clock=CLOCK) as db:
        await db.execute("PRAGMA user_version = 99")
    with pytest.raises(MigrationError, match="version 99"):
        await Database.open(path, clock=CLOCK)


async def test_migrations_with_a_gap_are_refused() -> None:
    number = len(bundled()) + 2
    gap = Migration(number, f"{number:04d}_later.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=f"expected {number - 1:04d}"):
        await Database.open(":memory:", migrations=[*bundled(), gap], clock=CLOCK)


async def test_run_commits_on_return(any_db: Database) -> None:
    def insert_two(conn: Connection) -> int:
        conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('A', '2026-11-23T10:00:00Z')"
        )
        conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('B', '2026-11-23T10:00:00Z')"
        )
        return 2

    assert await any_db.run(insert_two) == 2
    assert (await any_db.fetchone("SELECT count(*) FROM organisations"))[0] == 2


async def test_run_rolls_back_everything_on_error(any_db: Database) -> None:
    def insert_then_fail(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Ghost', '2026-11-23T10:00:00Z')"
        )
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await any_db.run(insert_then_fail)
    assert (await any_db.fetchone("SELECT count(*) FROM organisations"))[0] == 0
    # The connection is usable afterwards: no transaction was left open.
    await any_db.run(
        lambda conn: conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Real', '2026-11-23T10:00:00Z')"
        )
    )
    assert (await any_db.fetchone("SELECT count(*) FROM organisations"))[0] == 1


async def test_execute_returns_changed_rows(any_db: Database) -> None:
    await any_db.execute(
        "INSERT INTO organisations (name, created_at) VALUES ('A', '2026-11-23T10:00:00Z')"
    )
    await any_db.execute(
        "INSERT INTO organisations (name, created_at) VALUES ('B', '2026-11-23T10:00:00Z')"
    )
    assert await any_db.execute("UPDATE organisations SET language = 'sl'") == 2
    assert await any_db.execute("DELETE FROM organisations WHERE name = 'nobody'") == 0


async def test_every_statement_runs_on_one_thread_that_is_not_the_loops(any_db: Database) -> None:
    seen = [await any_db.run(lambda conn: threading.get_ident()) for _ in range(3)]
    assert len(set(seen)) == 1
    assert seen[0] != threading.get_ident()


async def test_a_cancelled_caller_still_gets_its_transaction_committed(any_db: Database) -> None:
    started = threading.Event()

    def slow_insert(conn: Connection) -> None:
        started.set()
        time.sleep(0.2)
        conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('Kept', '2026-11-23T10:00:00Z')"
        )

    task = asyncio.create_task(any_db.run(slow_insert))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Whatever was queued behind it runs after it, on the same connection.
    row = await any_db.fetchone("SELECT name FROM organisations")
    assert row is not None and row["name"] == "Kept"


async def test_a_closed_database_refuses_work_and_closes_once(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "c.db", clock=CLOCK)
    await db.close()
    await db.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        await db.fetchone("SELECT 1")
    # Closing checkpointed the write-ahead log: the file alone holds everything.
    assert not (tmp_path / "c.db-wal").exists()


async def test_a_database_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with pytest.raises(StorageError, match="unable to open"):
        await Database.open(tmp_path / "missing" / "c.db", clock=CLOCK)
    # Its thread ends once it has answered the close; other tests' threads are not counted.
    started = set(threading.enumerate()) - before
    for thread in started:
        await asyncio.to_thread(thread.join, 10)
    assert [t for t in started if t.is_alive()] == []


async def test_backup_is_a_complete_standalone_copy(db: Database, tmp_path: Path) -> None:
    await db.execute(
        "INSERT INTO organisations (name, created_at) VALUES ('Backed up', '2026-11-23T10:00:00Z')"
    )
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    await db.backup(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("SELECT name FROM organisations").fetchall() == [("Backed up",)]
        assert copy.execute("PRAGMA user_version").fetchone()[0] == len(bundled())
    finally:
        copy.close()


async def test_backup_refuses_to_overwrite_its_own_database(db: Database) -> None:
    with pytest.raises(ValueError, match="cannot overwrite"):
        await db.backup(db.path)


async def test_no_column_defaults_to_the_database_clock(db: Database) -> None:
    """Every stored instant comes from the injected clock, so the schema has no 'now'."""
    tables = await db.fetchall("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    assert tables
    for table in tables:
        assert "'now'" not in table["sql"].lower(), table["name"]
        assert "current_timestamp" not in table["sql"].lower(), table["name"]


async def test_stored_instants_are_the_injected_clocks(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storage import InviteRepo, OrgRepo, PeopleRepo

    clock = FakeClock(datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC))
    async with await Database.open(tmp_path / "c.db", clock=clock) as database:
        orgs = OrgRepo(database)
        org = await orgs.get_org(await orgs.create_org("Dom"))
        person = await PeopleRepo(database).get_or_create(42, "en")
        clock.advance(hours=1)
        invite = await InviteRepo(database).create(
            org.id if org else 0, None, "staff", 1, None, None
        )
    assert org is not None and org.created_at == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert person.created_at == org.created_at
    assert invite.created_at == datetime(2031, 2, 3, 5, 5, 6, tzinfo=UTC)


async def test_the_clock_migration_keeps_every_row_and_key(tmp_path: Path) -> None:
    """A database at schema 3, with data in every rebuilt table, comes through 4 intact."""
    path = tmp_path / "old.db"
    async with await Database.open(path, migrations=bundled()[:3], clock=CLOCK) as old:
        await old.run(_old_rows)
    async with await Database.open(path, clock=CLOCK) as db:
        assert await db.schema_version() == len(bundled())
        counts = {
            table: (await db.fetchone(f"SELECT count(*) FROM {table}"))[0]
            for table in ("organisations", "people", "invites", "script_versions",
                          "active_scripts", "actions", "digests_sent", "notifications",
                          "memberships", "units")
        }  # fmt: skip
        assert set(counts.values()) == {1}, counts
        assert (await db.fetchone("PRAGMA foreign_key_check")) is None
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        org = await db.fetchone("SELECT created_at FROM organisations")
        assert org["created_at"] == "2020-01-02T03:04:05Z"
        # The foreign keys still cascade after the rebuild.
        await db.execute("DELETE FROM people")
        assert (await db.fetchone("SELECT count(*) FROM memberships"))[0] == 0


def _old_rows(conn: sqlite3.Connection) -> None:
    at = "2020-01-02T03:04:05Z"
    conn.execute("INSERT INTO organisations (id, name, created_at) VALUES (1, 'Dom', ?)", (at,))
    conn.execute("INSERT INTO units (id, org_id, name) VALUES (1, 1, 'A')")
    conn.execute("INSERT INTO people (id, telegram_id, created_at) VALUES (1, 7, ?)", (at,))
    conn.execute("INSERT INTO memberships (person_id, org_id, role) VALUES (1, 1, 'manager')")
    conn.execute(
        "INSERT INTO invites (code, org_id, unit_id, role, created_at)"
        " VALUES ('abcdefghijklmnopqr', 1, 1, 'staff', ?)",
        (at,),
    )
    conn.execute(
        "INSERT INTO script_versions (id, script_id, version, source_text, source_format,"
        " sha256, title, published_at) VALUES (1, 's', 1, 'x', 'yaml', ?, 'S', ?)",
        ("0" * 64, at),
    )
    conn.execute(
        "INSERT INTO active_scripts (script_id, script_version_id, activated_at)"
        " VALUES ('s', 1, ?)",
        (at,),
    )
    conn.execute(
        "INSERT INTO actions (org_id, framework, item_id, title, created_at, updated_at)"
        " VALUES (1, 'equass', 'rights', 'T', ?, ?)",
        (at, at),
    )
    conn.execute(
        "INSERT INTO digests_sent (org_id, period, person_id, sent_at)"
        " VALUES (1, '2020-W01', 1, ?)",
        (at,),
    )
    conn.execute(
        "INSERT INTO notifications (person_id, org_id, period, kind, sent_at)"
        " VALUES (1, 1, '2020-W01', 'pulse', ?)",
        (at,),
    )


async def test_postgresql_refuses_a_backup_and_names_pg_dump(pg_url: str, tmp_path: Path) -> None:
    async with await Database.open(pg_url, clock=CLOCK) as db:
        assert db.dialect == "postgresql" and "@" in db.path
        with pytest.raises(ValueError, match="pg_dump"):
            await db.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


async def test_a_postgresql_database_that_cannot_be_reached_says_why(tmp_path: Path) -> None:
    url = f"postgresql://nobody:secret@/carecheck?host={tmp_path}&connect_timeout=2"
    with pytest.raises(StorageError, match="cannot open the database") as error:
        await Database.open(url, clock=CLOCK)
    assert "secret" not in str(error.value)  # the password stays out of messages and logs
    assert "\n" not in str(error.value)


async def test_a_lost_postgresql_connection_is_made_again(pg_url: str) -> None:
    """A server restart or failover fails the job it cuts, not every job after it."""
    import psycopg

    async with await Database.open(pg_url, clock=CLOCK) as db:
        pid = (await db.fetchone("SELECT pg_backend_pid()"))[0]
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            await db.fetchone("SELECT 1")
        await db.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('After', '2026-11-23T10:00:00Z')"
        )
        assert (await db.fetchone("SELECT name FROM organisations"))["name"] == "After"
        assert (await db.fetchone("SELECT pg_backend_pid()"))[0] != pid


def test_a_migration_outside_the_backends_folders_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One written for the old single folder would otherwise be skipped without a word."""
    import shutil
    from importlib import resources

    package = tmp_path / "storage"
    shutil.copytree(Path(str(resources.files("storage") / "migrations")), package / "migrations")
    (package / "migrations" / "0013_new.sql").write_text("SELECT 1;")
    monkeypatch.setattr(resources, "files", lambda name: package)
    with pytest.raises(
        MigrationError, match=r"0013_new\.sql must move to storage/migrations/sqlite/"
    ):
        bundled()
