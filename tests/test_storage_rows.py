"""`storage.rows.record`: a row becomes its dataclass, each field converted by its type."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, NamedTuple

import pytest

from storage.rows import record
from storage.times import instant


@dataclass(frozen=True)
class Sample:
    id: int
    name: str
    kind: Literal["a", "b"]
    active: bool
    ratio: float | None
    at: datetime
    maybe_at: datetime | None
    on: date
    maybe_on: date | None
    maybe_flag: bool | None


def row(sql: str) -> sqlite3.Row:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    found: sqlite3.Row = conn.execute(sql).fetchone()
    return found


def test_every_stored_form_becomes_its_declared_type() -> None:
    got = record(
        Sample,
        row(
            "SELECT 7 AS id, 'x' AS name, 'b' AS kind, 1 AS active, 0.5 AS ratio,"
            " '2026-11-23T10:00:00Z' AS at, '2026-11-24T11:30:00Z' AS maybe_at,"
            " '2026-11-23' AS \"on\", '2026-12-01' AS maybe_on, 0 AS maybe_flag"
        ),
    )
    assert got == Sample(
        id=7,
        name="x",
        kind="b",
        active=True,
        ratio=0.5,
        at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        maybe_at=datetime(2026, 11, 24, 11, 30, tzinfo=UTC),
        on=date(2026, 11, 23),
        maybe_on=date(2026, 12, 1),
        maybe_flag=False,
    )
    assert type(got.active) is bool and type(got.maybe_flag) is bool


def test_null_stays_none_in_optional_fields() -> None:
    got = record(
        Sample,
        row(
            "SELECT 1 AS id, '' AS name, 'a' AS kind, 0 AS active, NULL AS ratio,"
            " '2026-11-23T10:00:00Z' AS at, NULL AS maybe_at, '2026-11-23' AS \"on\","
            " NULL AS maybe_on, NULL AS maybe_flag"
        ),
    )
    assert (got.active, got.ratio, got.maybe_at, got.maybe_on, got.maybe_flag) == (
        False,
        None,
        None,
        None,
        None,
    )


class Pair(NamedTuple):
    on: date | None
    count: int


def test_a_named_tuple_is_mapped_like_a_dataclass() -> None:
    got = record(Pair, row("SELECT 3 AS count, '2026-11-23' AS \"on\""))
    assert got == Pair(date(2026, 11, 23), 3)
    assert record(Pair, row('SELECT NULL AS "on", 0 AS count')) == Pair(None, 0)


def test_instants_are_read_strictly_in_the_stored_form() -> None:
    assert instant("2026-11-23T10:00:00Z") == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for text in ("2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-11-23T10:00:00.5Z",
                 "2026-11-23T10:00+00Z", "2026-13-23T10:00:00Z"):  # fmt: skip
        with pytest.raises(ValueError):
            instant(text)


def test_a_missing_column_is_an_error_not_a_default() -> None:
    with pytest.raises(IndexError):
        record(Sample, row("SELECT 1 AS id"))


def test_only_classes_built_from_their_fields_are_mapped() -> None:
    @dataclass
    class Counted:
        id: int
        seen: int = field(init=False, default=0)

    with pytest.raises(TypeError, match="neither a dataclass nor a NamedTuple"):
        record(int, row("SELECT 1 AS id"))
    with pytest.raises(TypeError, match="seen"):
        record(Counted, row("SELECT 1 AS id"))
