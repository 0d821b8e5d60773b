"""One mapper from a database row to a repository's dataclass or NamedTuple.

Each repository used to copy its row field by field, converting the same few
stored forms each time; `record` reads every field by name instead and converts
it by the field's declared type, so a new column is one new field, not a new
line in a hand-written mapper that can drift from the dataclass.
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from storage.connection import Row
from storage.times import day, instant

T = TypeVar("T")

# Stored form -> Python value, for the declared types that are not stored as themselves.
_CONVERT: dict[object, Callable[[Any], Any]] = {datetime: instant, date: day, bool: bool}

# Per class: a getter of its fields' columns, as a tuple in field order, and the
# (position, converter) pairs of the fields not stored as themselves.
_Columns = Callable[[Row], tuple[Any, ...]]
_Plan = tuple[_Columns, tuple[tuple[int, Callable[[Any], Any]], ...]]
_PLANS: dict[type, _Plan] = {}


def record(cls: type[T], row: Row) -> T:
    """`cls` (a dataclass or a NamedTuple) built from the row's columns named as its fields.

    `datetime` fields read the stored instant text, `date` fields the stored
    day, `bool` fields 0/1; an optional one of these stays None when the
    column is NULL. Any other type is taken as SQLite returns it.
    """
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS.setdefault(cls, _make_plan(cls))
    columns, conversions = plan
    values = columns(row)
    if not conversions:
        return cls(*values)
    converted = list(values)
    for position, convert in conversions:
        converted[position] = convert(converted[position])
    return cls(*converted)


def _make_plan(cls: type) -> _Plan:
    """Each field's column and converter, worked out once per class (digests map many rows)."""
    hints = typing.get_type_hints(cls)
    names = _field_names(cls)
    conversions = []
    for position, name in enumerate(names):
        convert = _converter(hints[name])
        if convert is not None:
            conversions.append((position, convert))
    return _columns(names), tuple(conversions)


def _field_names(cls: type) -> list[str]:
    """The constructor's positional fields, in order."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return list(cls._fields)  # a NamedTuple
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is neither a dataclass nor a NamedTuple")
    names = []
    for field in dataclasses.fields(cls):
        if not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name} is not a positional constructor field")
        names.append(field.name)
    return names


def _columns(names: list[str]) -> _Columns:
    """A getter of the named columns as a tuple (itemgetter, but a tuple for one too)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return operator.itemgetter(*names)


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
