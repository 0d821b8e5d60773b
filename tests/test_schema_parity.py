"""SQLite's and PostgreSQL's migrations end at the same schema.

Each backend has its own numbered migrations; this compares what they build:
the same tables, the same columns (by name and type family), the same primary
keys, and the same unique keys and indexes (by their columns, an expression
counting as one). A column, key or index added on one side only fails here.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from storage import migrate
from storage.connection import PgConnection
from tests.pgcluster import Cluster

# Declared type (SQLite) or data type (PostgreSQL) -> family.
_FAMILIES = {
    "INTEGER": "integer",
    "bigint": "integer",
    "integer": "integer",
    "REAL": "real",
    "double precision": "real",
    "TEXT": "text",
    "text": "text",
    "BLOB": "bytes",
    "bytea": "bytes",
}
# Bookkeeping of the migration runners, not part of carecheck's schema.
_RUNNER_TABLES = {"schema_version"}

Index = tuple[bool, tuple[str, ...], bool]  # unique, columns ("<expr>" for an expression), partial
Schema = dict[str, tuple[dict[str, str], tuple[str, ...], frozenset[Index]]]


def _sqlite_schema(path: Path) -> Schema:
    conn = sqlite3.connect(path)
    try:
        schema: Schema = {}
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = {name: _FAMILIES[kind] for _, name, kind, *_ in info}
            key = tuple(name for _, name, *_, pk in sorted(info, key=lambda c: c[5]) if pk)
            indexes = set()
            for _, name, unique, origin, partial in conn.execute(f'PRAGMA index_list("{table}")'):
                if origin == "pk":
                    continue
                parts = conn.execute(f'PRAGMA index_xinfo("{name}")').fetchall()
                named = tuple(p[2] or "<expr>" for p in parts if p[5])  # key columns only
                indexes.add((bool(unique), named, bool(partial)))
            schema[table] = (columns, key, frozenset(indexes))
        return schema
    finally:
        conn.close()


def _pg_schema(url: str) -> Schema:
    with psycopg.connect(url) as conn:
        schema: Schema = {}
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' ORDER BY table_name"
            )
            if name not in _RUNNER_TABLES
        ]
        for table in tables:
            columns = {
                name: _FAMILIES[kind]
                for name, kind in conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name = %s",
                    (table,),
                )
            }
            key: tuple[str, ...] = ()
            indexes = set()
            rows = conn.execute(
                "SELECT i.indisprimary, i.indisunique, i.indpred IS NOT NULL,"
                " array(SELECT coalesce(a.attname, '<expr>')"
                "       FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
                "       LEFT JOIN pg_attribute a"
                "         ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0"
                "       ORDER BY k.n)"
                " FROM pg_index i WHERE i.indrelid = %s::regclass",
                (table,),
            ).fetchall()
            for primary, unique, partial, named in rows:
                if primary:
                    key = tuple(named)
                else:
                    indexes.add((bool(unique), tuple(named), bool(partial)))
            schema[table] = (columns, key, frozenset(indexes))
        return schema


def _migrated_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate.apply(conn, migrate.bundled("sqlite"))
    finally:
        conn.close()


def test_both_backends_build_the_same_schema(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _migrated_sqlite(path)
    lite, pg = _sqlite_schema(path), _pg_schema(pg_url)
    assert sorted(lite) == sorted(pg)
    for table in lite:
        assert lite[table] == pg[table], table
    assert len(lite) >= 30  # the comparison saw the schema, not two empty lists


def test_a_column_on_one_side_only_is_caught(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _migrated_sqlite(path)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE answers ADD COLUMN mood TEXT")
        conn.execute("CREATE INDEX answers_by_mood ON answers (mood)")
    lite, pg = _sqlite_schema(path), _pg_schema(pg_url)
    assert set(pg["answers"][0]) - set(lite["answers"][0]) == {"mood"}
    assert pg["answers"][2] - lite["answers"][2] == {(False, ("mood",), False)}


def test_migrations_apply_once_and_record_their_version(pg_cluster: Cluster) -> None:
    name = pg_cluster.empty_database()
    try:
        steps = migrate.bundled("postgresql")

        def replica_starts() -> tuple[int, int]:
            conn = PgConnection.connect(pg_cluster.url(name))
            try:
                return migrate.apply_pg(conn, steps), migrate.schema_version_pg(conn)
            finally:
                conn.close()

        # Two replicas starting together: one migrates, the other waits and finds it done.
        with ThreadPoolExecutor(2) as pool:
            started = list(pool.map(lambda _: replica_starts(), range(2)))
        assert started == [(len(steps), len(steps))] * 2
        with psycopg.connect(pg_cluster.url(name)) as conn:
            assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    finally:
        pg_cluster.drop(name)


def test_a_failing_migration_leaves_nothing_behind(pg_cluster: Cluster) -> None:
    name = pg_cluster.empty_database()
    try:
        broken = migrate.Migration(2, "0002_broken.sql", "CREATE TABLE x (a INT); SELECT nope;")
        conn = PgConnection.connect(pg_cluster.url(name))
        try:
            with pytest.raises(migrate.MigrationError, match=r"0002_broken\.sql"):
                migrate.apply_pg(conn, [*migrate.bundled("postgresql"), broken])
        finally:
            conn.close()
        with psycopg.connect(pg_cluster.url(name)) as conn:
            found = conn.execute("SELECT to_regclass('organisations'), to_regclass('x')").fetchone()
        assert found == (None, None)
    finally:
        pg_cluster.drop(name)
