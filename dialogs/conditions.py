"""Evaluation of structured `show_if` conditions against the answers given so far."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dialogs.model import Condition


class AnswerLike(Protocol):
    @property
    def value(self) -> object: ...
    @property
    def skipped(self) -> bool: ...
    @property
    def not_applicable(self) -> bool: ...


def holds(condition: Condition, answers: Mapping[str, AnswerLike], subject: str | None) -> bool:
    """Whether `condition` holds; `subject` is the question a follow-up belongs to.

    A comparison on a question that was not answered (absent, skipped or "not
    applicable") is false, except `answered: false`.
    """
    if condition.all is not None:
        return all(holds(c, answers, subject) for c in condition.all)
    if condition.any is not None:
        return any(holds(c, answers, subject) for c in condition.any)
    if condition.not_ is not None:
        return not holds(condition.not_, answers, subject)
    question = condition.question or subject
    answer = answers.get(question) if question else None
    given = answer is not None and not answer.skipped and not answer.not_applicable
    op, expected = condition.operator()
    if op == "answered":
        return given == expected
    if not given:
        return False
    return compare(op, answer.value, expected)  # type: ignore[union-attr]


def compare(op: str, value: object, expected: object) -> bool:
    if op == "eq":
        return _same(value, expected)
    if op == "ne":
        return not _same(value, expected)
    if op == "in_":
        return any(_same(value, e) for e in expected)  # type: ignore[attr-defined]
    if op == "contains":
        return isinstance(value, list) and any(_same(v, expected) for v in value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    bound = float(expected)  # type: ignore[arg-type]
    return {
        "lt": value < bound,
        "lte": value <= bound,
        "gt": value > bound,
        "gte": value >= bound,
    }[op]


def _same(a: object, b: object) -> bool:
    # YAML may say `eq: 3` for a value stored as 3 or "3"; compare as text.
    return str(a) == str(b)


def referenced_questions(condition: Condition) -> list[str]:
    """Every question a condition reads, for the validator's reference checks."""
    if condition.question is not None:
        return [condition.question]
    return [q for child in condition.children() for q in referenced_questions(child)]
