"""Structured conditions: each operator, unanswered questions, groups, and follow-up subjects."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dialogs.conditions import compare, holds, referenced_questions
from dialogs.engine import Answer, DialogEngine
from dialogs.model import Condition
from tests.scriptdocs import build, choice_q, document, multi_q, nps_q, section, yes_no_q

ANSWERS = {
    "score": Answer("score", value=3, score=3.0),
    "word": Answer("word", value="often"),
    "picks": Answer("picks", value=["meals", "outings"]),
    "skipped": Answer("skipped", skipped=True),
    "na": Answer("na", not_applicable=True),
    "zero": Answer("zero", value=0, score=1.0),
}


def cond(**data: Any) -> Condition:
    return Condition.model_validate(data)


def check(data: dict[str, Any], subject: str | None = None) -> bool:
    return holds(Condition.model_validate(data), ANSWERS, subject)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"question": "score", "eq": 3}, True),
        ({"question": "score", "eq": "3"}, True),
        ({"question": "score", "eq": 4}, False),
        ({"question": "score", "ne": 4}, True),
        ({"question": "score", "ne": 3}, False),
        ({"question": "word", "eq": "often"}, True),
        ({"question": "word", "ne": "often"}, False),
        ({"question": "score", "in": [1, 2, 3]}, True),
        ({"question": "score", "in": [4, 5]}, False),
        ({"question": "word", "in": ["never", "often"]}, True),
        ({"question": "score", "lt": 3}, False),
        ({"question": "score", "lt": 4}, True),
        ({"question": "score", "lte": 3}, True),
        ({"question": "score", "lte": 2}, False),
        ({"question": "score", "gt": 3}, False),
        ({"question": "score", "gt": 2}, True),
        ({"question": "score", "gte": 3}, True),
        ({"question": "score", "gte": 3.5}, False),
        ({"question": "zero", "lte": 0}, True),
        ({"question": "zero", "eq": 0}, True),
        ({"question": "picks", "contains": "meals"}, True),
        ({"question": "picks", "contains": "cleaning"}, False),
        ({"question": "word", "contains": "often"}, False),
        ({"question": "word", "lt": 10}, False),
        ({"question": "picks", "gte": 0}, False),
    ],
)
def test_comparison(data: dict[str, Any], expected: bool) -> None:
    assert check(data) is expected


@pytest.mark.parametrize("question", ["skipped", "na", "absent"])
@pytest.mark.parametrize(
    "data",
    [{"eq": 3}, {"ne": 3}, {"lt": 100}, {"gte": -100}, {"in": [1]}, {"contains": "meals"}],
)
def test_comparison_on_an_unanswered_question_is_false(question: str, data: dict[str, Any]) -> None:
    assert check({"question": question, **data}) is False


@pytest.mark.parametrize(
    ("question", "answered"),
    [("score", True), ("zero", True), ("picks", True), ("skipped", False), ("na", False)],
)
def test_answered(question: str, answered: bool) -> None:
    assert check({"question": question, "answered": True}) is answered
    assert check({"question": question, "answered": False}) is not answered
    assert check({"question": "absent", "answered": False}) is True


def test_not_of_eq_differs_from_ne_on_unanswered_questions() -> None:
    assert check({"question": "skipped", "ne": 3}) is False
    assert check({"not": {"question": "skipped", "eq": 3}}) is True


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"all": [{"question": "score", "gte": 3}, {"question": "word", "eq": "often"}]}, True),
        ({"all": [{"question": "score", "gte": 4}, {"question": "word", "eq": "often"}]}, False),
        ({"any": [{"question": "score", "gte": 4}, {"question": "word", "eq": "often"}]}, True),
        ({"any": [{"question": "score", "gte": 4}, {"question": "na", "answered": True}]}, False),
        ({"not": {"question": "score", "eq": 3}}, False),
        ({"not": {"not": {"question": "score", "eq": 3}}}, True),
        (
            {
                "all": [
                    {
                        "any": [
                            {"question": "picks", "contains": "x"},
                            {"question": "zero", "eq": 0},
                        ]
                    },
                    {"not": {"question": "skipped", "answered": True}},
                ]
            },
            True,
        ),
    ],
)
def test_groups(data: dict[str, Any], expected: bool) -> None:
    assert check(data) is expected


def test_follow_up_condition_reads_its_subject() -> None:
    assert check({"lte": 3}, subject="score") is True
    assert check({"lte": 2}, subject="score") is False
    assert check({"eq": "often"}, subject="word") is True
    assert check({"answered": True}, subject="skipped") is False
    assert check({"all": [{"gte": 1}, {"lte": 5}]}, subject="score") is True


def test_explicit_question_wins_over_the_subject() -> None:
    assert check({"question": "word", "eq": "often"}, subject="score") is True


def test_condition_without_question_or_subject_reads_nothing() -> None:
    assert check({"eq": 3}) is False
    assert check({"answered": False}) is True


def test_compare_treats_booleans_as_not_numbers() -> None:
    assert compare("lt", True, 5) is False
    assert compare("gte", 2.5, 2) is True
    assert compare("eq", 3, "3") is True


def test_referenced_questions_walks_groups() -> None:
    condition = cond(
        all=[
            {"question": "a", "eq": 1},
            {"any": [{"question": "b", "answered": True}, {"not": {"question": "c", "lt": 2}}]},
        ]
    )
    assert referenced_questions(condition) == ["a", "b", "c"]
    assert referenced_questions(cond(lte=2)) == []


@pytest.mark.parametrize(
    "data",
    [
        {"question": "a"},
        {"question": "a", "eq": 1, "ne": 2},
        {"question": "a", "all": [{"question": "b", "eq": 1}]},
        {"all": [{"question": "b", "eq": 1}], "any": [{"question": "b", "eq": 1}]},
        {"question": "a", "between": [1, 2]},
    ],
)
def test_malformed_conditions_are_refused_by_the_model(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(data)


def test_operator_names_the_comparison() -> None:
    assert cond(question="a", **{"in": [1, 2]}).operator() == ("in_", [1, 2])
    assert cond(question="a", answered=False).operator() == ("answered", False)
    with pytest.raises(ValueError):
        cond(any=[{"question": "a", "eq": 1}]).operator()


def test_conditions_drive_what_a_session_shows() -> None:
    doc = document(
        [
            section(
                "s",
                [
                    nps_q("nps"),
                    yes_no_q("detractor", show_if={"question": "nps", "lte": 6}),
                    multi_q("topics", show_if={"not": {"question": "nps", "answered": True}}),
                    choice_q(
                        "why",
                        show_if={
                            "any": [
                                {"question": "detractor", "eq": "yes"},
                                {"question": "topics", "contains": "outings"},
                            ]
                        },
                    ),
                ],
            )
        ]
    )
    engine = DialogEngine(build(doc))

    def shown(*steps: object) -> list[str]:
        session = engine.start()
        order = []
        for step in steps:
            question = session.screen().question
            assert question is not None
            order.append(question.id)
            if step is None:
                session.skip()
            else:
                session.answer(step)
        assert session.finished
        return order

    assert shown("9") == ["nps"]
    assert shown("3", "no") == ["nps", "detractor"]
    assert shown("3", "yes", "often") == ["nps", "detractor", "why"]
    assert shown(None, ["meals"]) == ["nps", "topics"]
    assert shown(None, ["outings"], "never") == ["nps", "topics", "why"]
