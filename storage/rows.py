"""One mapper from a database row to a repository's dataclass.

Each repository used to copy its row field by field, converting the same few
stored forms each time; `record` reads every field by name instead and converts
it by the field's declared type, so a new column is one new field, not a new
line in a hand-written mapper that can drift from the dataclass.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from storage.times import day, instant

T = TypeVar("T")

# Stored form -> Python value, for the declared types that are not stored as themselves.
_CONVERT: dict[object, Callable[[Any], Any]] = {datetime: instant, date: day, bool: bool}

_Plan = tuple[tuple[str, Callable[[Any], Any] | None], ...]
_PLANS: dict[type, _Plan] = {}


def record(cls: type[T], row: sqlite3.Row) -> T:
    """`cls` built from the row's columns of the same names as its fields.

    `datetime` fields read the stored instant text, `date` fields the stored
    day, `bool` fields 0/1; an optional one of these stays None when the
    column is NULL. Any other type is taken as SQLite returns it.
    """
    return cls(
        *[row[name] if convert is None else convert(row[name]) for name, convert in _plan(cls)]
    )


def _plan(cls: type) -> _Plan:
    """Each field's column name and converter, worked out once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS.setdefault(cls, _make_plan(cls))
    return plan


def _make_plan(cls: type) -> _Plan:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    plan = []
    for field in dataclasses.fields(cls):
        if not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name} is not a positional constructor field")
        plan.append((field.name, _converter(hints[field.name])))
    return tuple(plan)


def _converter(hint: object) -> Callable[[Any], Any] | None:
    """The conversion for one declared type; None where the stored value is the value."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) != 1 or len(inner) == len(typing.get_args(hint)):
            return None  # a union of several types, or not optional: taken as stored
        convert = _CONVERT.get(inner[0])
        if convert is None:
            return None
        return lambda value: None if value is None else convert(value)
    return _CONVERT.get(hint)
