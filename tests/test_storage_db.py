"""The database handle: pragmas, migrations, transactions and backups."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Database, MigrationError
from storage.migrate import Migration, bundled

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
    async with await Database.open(tmp_path / "carecheck.db") as database:
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
    async with await Database.open(":memory:") as db:
        assert await db.schema_version() == len(bundled())
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute("INSERT INTO units (org_id, name) VALUES (999, 'nowhere')")


async def test_reopening_a_current_database_keeps_data_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path) as db:
        await db.execute("INSERT INTO organisations (name) VALUES ('Kept')")
        schema = await db.fetchall("SELECT sql FROM sqlite_master ORDER BY name")
    async with await Database.open(path) as db:
        assert await db.schema_version() == len(bundled())
        names = await db.fetchall("SELECT name FROM organisations")
        assert [r["name"] for r in names] == ["Kept"]
        again = await db.fetchall("SELECT sql FROM sqlite_master ORDER BY name")
        assert [r["sql"] for r in again] == [r["sql"] for r in schema]


async def test_a_database_at_version_one_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path, migrations=bundled()[:1]) as db:
        assert await db.schema_version() == 1
        await db.execute("INSERT INTO organisations (name) VALUES ('Before')")
    async with await Database.open(path) as db:
        assert await db.schema_version() == len(bundled())
        assert (await db.fetchone("SELECT name FROM organisations"))["name"] == "Before"


async def test_a_new_migration_applies_on_top_of_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path) as db:
        await db.execute("INSERT INTO organisations (name) VALUES ('Before')")
    number = len(bundled()) + 1
    step = Migration(
        number, f"{number:04d}_notes.sql", "ALTER TABLE organisations ADD COLUMN note TEXT;"
    )
    async with await Database.open(path, migrations=[*bundled(), step]) as db:
        assert await db.schema_version() == number
        row = await db.fetchone("SELECT name, note FROM organisations")
        assert (row["name"], row["note"]) == ("Before", None)


async def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path):
        pass
    number = len(bundled()) + 1
    broken = Migration(
        number,
        f"{number:04d}_broken.sql",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(MigrationError, match=rf"{number:04d}_broken\.sql"):
        await Database.open(path, migrations=[*bundled(), broken])
    async with await Database.open(path) as db:
        assert await db.schema_version() == number - 1
        assert await db.fetchone("SELECT 1 FROM sqlite_master WHERE name = 'half_done'") is None


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "carecheck.db"
    async with await Database.open(path) as db:
        await db.execute("PRAGMA user_version = 99")
    with pytest.raises(MigrationError, match="version 99"):
        await Database.open(path)


async def test_migrations_with_a_gap_are_refused() -> None:
    number = len(bundled()) + 2
    gap = Migration(number, f"{number:04d}_later.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=f"expected {number - 1:04d}"):
        await Database.open(":memory:", migrations=[*bundled(), gap])


async def test_run_commits_on_return(db: Database) -> None:
    def insert_two(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO organisations (name) VALUES ('A')")
        conn.execute("INSERT INTO organisations (name) VALUES ('B')")
        return 2

    assert await db.run(insert_two) == 2
    assert (await db.fetchone("SELECT count(*) FROM organisations"))[0] == 2


async def test_run_rolls_back_everything_on_error(db: Database) -> None:
    def insert_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO organisations (name) VALUES ('Ghost')")
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await db.run(insert_then_fail)
    assert (await db.fetchone("SELECT count(*) FROM organisations"))[0] == 0
    # The connection is usable afterwards: no transaction was left open.
    await db.run(lambda conn: conn.execute("INSERT INTO organisations (name) VALUES ('Real')"))
    assert (await db.fetchone("SELECT count(*) FROM organisations"))[0] == 1


async def test_execute_returns_changed_rows(db: Database) -> None:
    await db.execute("INSERT INTO organisations (name) VALUES ('A')")
    await db.execute("INSERT INTO organisations (name) VALUES ('B')")
    assert await db.execute("UPDATE organisations SET language = 'sl'") == 2
    assert await db.execute("DELETE FROM organisations WHERE name = 'nobody'") == 0


async def test_backup_is_a_complete_standalone_copy(db: Database, tmp_path: Path) -> None:
    await db.execute("INSERT INTO organisations (name) VALUES ('Backed up')")
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
