"""The one-line condition form of workbook cells: parsing, writing, and errors with positions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.condition_text import ConditionSyntaxError, format_condition, parse_condition
from dialogs.model import Condition


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("q1 <= 2", {"question": "q1", "lte": 2}),
        ("q1<2", {"question": "q1", "lt": 2}),
        ("q1 > 2.5", {"question": "q1", "gt": 2.5}),
        ("q1 >= -1", {"question": "q1", "gte": -1}),
        ("q2 = yes", {"question": "q2", "eq": "yes"}),
        ("q2 == yes", {"question": "q2", "eq": "yes"}),
        ("q2 != no", {"question": "q2", "ne": "no"}),
        ('q2 = "two words"', {"question": "q2", "eq": "two words"}),
        ('q2 = "3"', {"question": "q2", "eq": "3"}),
        ("q2 = “curly quotes”", {"question": "q2", "eq": "curly quotes"}),
        ("q3 in (1, 2)", {"question": "q3", "in": [1, 2]}),
        ("q3 IN (often,never)", {"question": "q3", "in": ["often", "never"]}),
        ("q3 in ()", {"question": "q3", "in": []}),
        ("q4 contains meals", {"question": "q4", "contains": "meals"}),
        ("q5 answered", {"question": "q5", "answered": True}),
        ("q5 not answered", {"question": "q5", "answered": False}),
        ("not(q5 answered)", {"not": {"question": "q5", "answered": True}}),
        (
            "all(q1 <= 2, any(q2 = yes, q3 in (1)))",
            {"all": [{"question": "q1", "lte": 2},
                     {"any": [{"question": "q2", "eq": "yes"}, {"question": "q3", "in": [1]}]}]},
        ),
        ("any()", {"any": []}),
        ("all = yes", {"question": "all", "eq": "yes"}),  # a question may be called "all"
    ],
)  # fmt: skip
def test_show_if_cells(text: str, condition: dict[str, Any]) -> None:
    assert parse_condition(text) == condition


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("answer <= 2", {"lte": 2}),
        ("<= 2", {"lte": 2}),
        ("answer = no", {"eq": "no"}),
        ("answered", {"answered": True}),
        ("not answered", {"answered": False}),
        ("any(answer <= 1, = 5)", {"any": [{"lte": 1}, {"eq": 5}]}),
        ("q1 <= 2", {"question": "q1", "lte": 2}),  # its own name, written out
    ],
)
def test_follow_up_cells(text: str, condition: dict[str, Any]) -> None:
    assert parse_condition(text, follow_up=True) == condition


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the condition is empty (at character 1)"),
        ("q1 <=", "the condition ends too early (at character 6)"),
        ("q1 <== 2", "expected a value, found '=' (at character 6)"),
        ("q1 <> 2", "write 'not equal' as '!=' (at character 4)"),
        ("q1 is 2",
         "expected =, !=, <, <=, >, >=, in, contains or answered, found 'is' (at character 4)"),
        ("<= 2", "expected a question name, like 'q1 <= 2', found '<=' (at character 1)"),
        ("q1 <= 2 q2", "unexpected 'q2' after the condition (at character 9)"),
        ("all(q1 <= 2; q2 = 1)", "unexpected ';' (at character 12)"),
        ("all(q1 <= 2 q2 = 1)", "expected ',' or ')', found 'q2' (at character 13)"),
        ("q3 in 1, 2", "expected '(', found '1' (at character 7)"),
        ('q2 = "open', "unexpected '\"' (at character 6)"),
    ],
)  # fmt: skip
def test_mistakes_say_where(text: str, message: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    assert str(caught.value) == message


# ---- any condition written out reads back the same ----

names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
words = st.text("abcz09 _-.\"\\'=(),<>čš😀", min_size=0, max_size=8)
scalars = st.one_of(
    st.integers(-100, 100),
    st.floats(-100, 100, allow_nan=False, allow_infinity=False),
    words,
)


def comparisons(question: st.SearchStrategy[str | None]) -> st.SearchStrategy[dict[str, Any]]:
    operator = st.one_of(
        st.tuples(st.sampled_from(["eq", "ne", "contains"]), scalars),
        st.tuples(st.sampled_from(["lt", "lte", "gt", "gte"]), st.integers(-5, 15)),
        st.tuples(st.just("in"), st.lists(scalars, max_size=3)),
        st.tuples(st.just("answered"), st.booleans()),
    )
    return st.builds(
        lambda q, op: {**({"question": q} if q else {}), op[0]: op[1]}, question, operator
    )


def conditions(question: st.SearchStrategy[str | None]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        comparisons(question),
        lambda inner: st.one_of(
            st.builds(lambda c: {"all": c}, st.lists(inner, max_size=3)),
            st.builds(lambda c: {"any": c}, st.lists(inner, max_size=3)),
            st.builds(lambda c: {"not": c}, inner),
        ),
        max_leaves=6,
    )


@settings(max_examples=300)
@given(conditions(names))
def test_show_if_conditions_read_back_equal(raw: dict[str, Any]) -> None:
    condition = Condition.model_validate(raw)
    text = format_condition(condition)
    assert Condition.model_validate(parse_condition(text)) == condition


@settings(max_examples=200)
@given(conditions(st.none()))
def test_follow_up_conditions_read_back_equal(raw: dict[str, Any]) -> None:
    condition = Condition.model_validate(raw)
    text = format_condition(condition, follow_up=True)
    assert Condition.model_validate(parse_condition(text, follow_up=True)) == condition
