"""The repositories' sqlite3 parameter styles as psycopg's, once per SQL text."""

from __future__ import annotations

import pytest

from storage.connection import PgRow, translate
from storage.db import dialect_of, sqlite_path


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("UPDATE t SET a = :a WHERE id = :id_2", "UPDATE t SET a = %(a)s WHERE id = %(id_2)s"),
        (
            "SELECT '?', ':x', 'it''s ?' FROM t WHERE a = ?",
            "SELECT '?', ':x', 'it''s ?' FROM t WHERE a = %s",
        ),
        ('SELECT "odd?name" FROM t', 'SELECT "odd?name" FROM t'),
        ("SELECT x::text FROM t WHERE y = :y", "SELECT x::text FROM t WHERE y = %(y)s"),
        (
            "SELECT a LIKE '50%' FROM t -- what? :no\nWHERE b = ?",
            "SELECT a LIKE '50%%' FROM t -- what? :no\nWHERE b = %s",
        ),
        ("SELECT 10 % 3, /* ? */ ?", "SELECT 10 %% 3, /* ? */ %s"),
    ],
)
def test_placeholders_become_psycopg_ones_outside_literals_and_comments(
    sql: str, expected: str
) -> None:
    text, arrange = translate(sql)
    assert text == expected
    assert arrange((1, 2)) == (1, 2)


def test_numbered_placeholders_repeat_and_reorder_their_parameters() -> None:
    text, arrange = translate("SELECT ?2, ?1 WHERE x = ?2")
    assert text == "SELECT %(_2)s, %(_1)s WHERE x = %(_2)s"
    assert arrange(("a", "b")) == {"_1": "a", "_2": "b"}
    # A bare ? after ?NNN is the next number, as in SQLite.
    text, arrange = translate("VALUES (?, ?, ?5, ?)")
    assert text == "VALUES (%(_1)s, %(_2)s, %(_5)s, %(_6)s)"
    assert arrange(tuple("abcdef")) == {"_1": "a", "_2": "b", "_5": "e", "_6": "f"}


def test_the_translation_is_cached_per_sql_text() -> None:
    assert translate("SELECT ? + 1") is translate("SELECT ? + 1")


def test_a_postgresql_row_reads_by_name_and_by_position() -> None:
    row = PgRow((7, "x"), {"id": 0, "name": 1})
    assert (row["id"], row[1], row.keys(), list(row)) == (7, "x", ["id", "name"], [7, "x"])
    with pytest.raises(KeyError):
        row["missing"]


@pytest.mark.parametrize(
    ("location", "dialect", "path"),
    [
        ("postgresql://u@h/db", "postgresql", None),
        ("postgres://u@h/db", "postgresql", None),
        ("sqlite:/var/lib/c.db", "sqlite", "/var/lib/c.db"),
        ("sqlite:///var/lib/c.db", "sqlite", "/var/lib/c.db"),
        ("carecheck.db", "sqlite", "carecheck.db"),
    ],
)
def test_the_location_selects_the_backend(location: str, dialect: str, path: str | None) -> None:
    assert dialect_of(location) == dialect
    if path is not None:
        assert sqlite_path(location) == path
