"""What a repository's transaction function is given: one connection, SQLite's or PostgreSQL's.

Repositories write `fn(conn)` against this small protocol, with sqlite3's
parameter styles (`?`, `?NNN`, `:name`), and read rows by column name or by
position. On SQLite the connection is sqlite3's own (a subclass that only adds
`dialect`); on PostgreSQL it is `PgConnection`, a thin wrapper over a psycopg 3
sync connection that rewrites the parameters to psycopg's `%s` / `%(name)s`
once per SQL text. Where the SQL itself cannot be the same on both, a
repository keeps the two variants side by side and picks one by `conn.dialect`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal, Protocol

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.rows import RowMaker
from psycopg.types.numeric import FloatLoader, Int8Dumper

Dialect = Literal["sqlite", "postgresql"]

# Positional (?) or named (:name) parameters, as sqlite3 takes them.
Params = Sequence[Any] | Mapping[str, Any]

# A unique or foreign key refused the write, whichever the backend.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
# Anything the database driver raises.
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)


def refused_by(error: Exception) -> Literal["unique", "foreign_key", "check", "other"]:
    """Which kind of constraint an integrity error is about, on either backend."""
    if isinstance(error, psycopg.errors.UniqueViolation):
        return "unique"
    if isinstance(error, psycopg.errors.ForeignKeyViolation):
        return "foreign_key"
    if isinstance(error, psycopg.errors.CheckViolation):
        return "check"
    text = str(error)  # sqlite3 says it only in words
    for words, kind in (("UNIQUE", "unique"), ("FOREIGN KEY", "foreign_key"), ("CHECK", "check")):
        if words in text:
            return kind  # type: ignore[return-value]
    return "other"


class Row(Protocol):
    """A result row: `row["column"]` or `row[0]`, like sqlite3.Row."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The one connection a transaction function may use; it must never commit."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, parameters: Params = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Params], /) -> Cursor: ...


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, named by its dialect (`sqlite3.connect(..., factory=...)`)."""

    dialect: Literal["sqlite"] = "sqlite"


class PgRow:
    """A PostgreSQL row read by column name or position, as sqlite3.Row is."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str, /) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PgRow):
            return tuple(self._values) == tuple(other._values)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"

    def keys(self) -> list[str]:
        return list(self._index)


def _pg_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    description = cursor.description or ()
    index = {column.name: position for position, column in enumerate(description)}
    return lambda values: PgRow(values, index)


class _BoolAsInteger(Dumper):
    """Flags are INTEGER 0/1 on both backends; Python's True goes in as 1, not as boolean."""

    oid = psycopg.adapters.types["int4"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class PgConnection:
    """A psycopg 3 sync connection speaking the repositories' sqlite3 parameter styles."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        raw.adapters.register_dumper(bool, _BoolAsInteger)
        # Every int as bigint, as SQLite's integers are: no smallint by a value's size.
        raw.adapters.register_dumper(int, Int8Dumper)
        # avg() and sum() of integers are numeric in PostgreSQL; sqlite3 gives floats.
        raw.adapters.register_loader("numeric", FloatLoader)
        raw.row_factory = _pg_rows

    @classmethod
    def connect(cls, url: str) -> PgConnection:
        """Autocommit: transactions are the explicit BEGIN/COMMIT of `storage.db`."""
        return cls(psycopg.connect(url, autocommit=True))

    def execute(self, sql: str, parameters: Params = (), /) -> psycopg.Cursor[PgRow]:
        text, arrange = translate(sql)
        return self.raw.execute(text, arrange(parameters))

    def executemany(self, sql: str, seq_of_parameters: Iterable[Params], /) -> Cursor:
        text, arrange = translate(sql)
        cursor = self.raw.cursor()
        cursor.executemany(text, [arrange(params) for params in seq_of_parameters])
        return cursor

    @property
    def broken(self) -> bool:
        """The server is gone from this connection (restart, failover, terminated)."""
        return self.raw.broken or self.raw.closed

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


_Arrange = Callable[[Params], Params]


def _as_given(params: Params) -> Params:
    return params


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, _Arrange]:
    """sqlite3's `?`, `?NNN` and `:name` as psycopg's `%s` / `%(name)s`, and `%` as `%%`.

    Returns the text for psycopg and how to arrange the parameters for it (`?NNN`
    become named ones, so a repeated number is one server-side parameter). String
    literals, quoted names, comments and `::` casts are copied as they are.
    """
    out: list[str] = []
    numbers: list[int] = []
    numbered = False
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = sql.find(char, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == char:
                end = sql.find(char, end + 2)  # a doubled quote inside the literal
            end = n - 1 if end == -1 else end
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            # SQLite's rule: a bare ? is one more than the largest number so far.
            number = int(sql[i + 1 : j]) if j > i + 1 else max(numbers, default=0) + 1
            numbered = numbered or j > i + 1
            numbers.append(number)
            out.append(f"%(_{number})s")
            i = j
        elif char == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif char == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    if not numbered:
        # Only bare ?: psycopg's own positional %s, the parameters as they are.
        return re.sub(r"%\(_\d+\)s", "%s", text), _as_given
    # One named parameter per number: PostgreSQL then sees ?2 used twice as one $n.
    names = tuple((f"_{number}", number - 1) for number in sorted(set(numbers)))
    return text, lambda params: {name: params[at] for name, at in names}
