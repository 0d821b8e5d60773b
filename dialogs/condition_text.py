"""A one-line text form of `show_if` conditions, for spreadsheet cells.

A spreadsheet cell cannot hold the nested mapping YAML uses, so a workbook
writes a condition the way a coordinator would say it:

    q1 <= 2                      q1 = yes          q1 != "two words"
    q1 in (1, 2)                 q1 contains meals
    q1 answered                  q1 not answered
    all(q1 <= 2, q2 = yes)       any(q1 = 1, q1 = 5)    not(q2 = no)

Operators: `=` (or `==`), `!=`, `<`, `<=`, `>`, `>=`, `in (...)`, `contains`,
`answered`, `not answered`. A number is a number; a word is text; anything
else (spaces, a number meant as text) goes in double quotes. In a follow-up's
condition the question itself is called `answer` (`answer <= 2`), or the name
is left out (`<= 2`).

The parser returns the same plain dict YAML would give, so the validator sees
no difference between the two forms; `format_condition` is its inverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dialogs.model import Condition

# What a follow-up's condition calls the answer to its own question.
SUBJECT = "answer"
GROUPS = ("all", "any", "not")
COMPARISONS = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
SYMBOLS = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.-]))
      | (?P<word>[^\W\d][\w.-]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|“[^”]*”)
      | (?P<op><=|>=|!=|==|<>|[=<>])
      | (?P<punct>[(),])
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_BARE = re.compile(r"[^\W\d][\w.-]*")


class ConditionSyntaxError(ValueError):
    """The text is not a condition; `position` is the 1-based character it went wrong at."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position})")
        self.position = position


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def parse_condition(text: str, *, follow_up: bool = False) -> dict[str, Any]:
    """The condition written in `text`, as the dict YAML would give for it."""
    parser = _Parser(_tokens(text), follow_up, len(text) + 1)
    condition = parser.condition()
    parser.end()
    return condition


def format_condition(condition: Condition, *, follow_up: bool = False) -> str:
    """The text form of a condition; `parse_condition` reads it back to an equal model."""
    for name in GROUPS:
        children = condition.not_ if name == "not" else getattr(condition, name)
        if children is None:
            continue
        items = [children] if isinstance(children, Condition) else children
        inner = ", ".join(format_condition(c, follow_up=follow_up) for c in items)
        return f"{name}({inner})"
    subject = condition.question or SUBJECT
    op, value = condition.operator()
    if op == "answered":
        return f"{subject} answered" if value else f"{subject} not answered"
    if op == "in_":
        return f"{subject} in ({', '.join(_format_value(v, op) for v in value)})"  # type: ignore[attr-defined]
    if op == "contains":
        return f"{subject} contains {_format_value(value, op)}"
    return f"{subject} {SYMBOLS[op]} {_format_value(value, op)}"


def _format_value(value: object, op: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if op in ("lt", "lte", "gt", "gte") and value.is_integer():
            return str(int(value))  # the model keeps bounds as floats: 2 and 2.0 are equal
        return repr(value)
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tokens(text: str) -> list[_Token]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise ConditionSyntaxError(f"unexpected {match.group(kind)!r}", match.start(kind) + 1)
        out.append(_Token(kind, match.group(kind), match.start(kind) + 1))
    return out


class _Parser:
    def __init__(self, tokens: list[_Token], follow_up: bool, end: int) -> None:
        self.tokens = tokens
        self.follow_up = follow_up
        self.at = 0
        self.end_position = end

    def peek(self, offset: int = 0) -> _Token | None:
        i = self.at + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ConditionSyntaxError("the condition ends too early", self.end_position)
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ConditionSyntaxError(f"expected {text!r}, found {token.text!r}", token.position)

    def end(self) -> None:
        token = self.peek()
        if token is not None:
            raise ConditionSyntaxError(
                f"unexpected {token.text!r} after the condition", token.position
            )

    def condition(self) -> dict[str, Any]:
        token = self.peek()
        after = self.peek(1)
        if token is None:
            raise ConditionSyntaxError("the condition is empty", self.end_position)
        name = token.text.lower()
        if token.kind == "word" and name in GROUPS and after is not None and after.text == "(":
            self.at += 2
            if name == "not":
                inner = self.condition()
                self.expect(")")
                return {"not": inner}
            children = self._list(self.condition)
            return {name: children}
        return self.comparison()

    def comparison(self) -> dict[str, Any]:
        first = self.peek()
        assert first is not None
        node: dict[str, Any] = {}
        implied = self.follow_up and first.text.lower() in ("answered", "not", "in", "contains")
        if first.kind == "word" and not implied:
            self.at += 1
            if not (self.follow_up and first.text == SUBJECT):
                node["question"] = first.text
        elif not self.follow_up:
            raise ConditionSyntaxError(
                f"expected a question name, like 'q1 <= 2', found {first.text!r}", first.position
            )
        token = self.take()
        word = token.text.lower() if token.kind == "word" else None
        if token.kind == "op":
            if token.text == "<>":
                raise ConditionSyntaxError("write 'not equal' as '!='", token.position)
            node[COMPARISONS[token.text]] = self.value()
        elif word == "in":
            self.expect("(")
            node["in"] = self._list(self.value)
        elif word == "contains":
            node["contains"] = self.value()
        elif word == "answered":
            node["answered"] = True
        elif word == "not" and (nxt := self.peek()) is not None and nxt.text.lower() == "answered":
            self.at += 1
            node["answered"] = False
        else:
            raise ConditionSyntaxError(
                f"expected =, !=, <, <=, >, >=, in, contains or answered, found {token.text!r}",
                token.position,
            )
        return node

    def value(self) -> Any:
        token = self.take()
        if token.kind == "number":
            text = token.text
            return float(text) if any(c in text for c in ".eE") else int(text)
        if token.kind == "word":
            return token.text
        if token.kind == "string":
            if token.text.startswith("“"):
                return token.text[1:-1]
            return re.sub(r"\\(.)", r"\1", token.text[1:-1], flags=re.DOTALL)
        raise ConditionSyntaxError(f"expected a value, found {token.text!r}", token.position)

    def _list(self, item: Any) -> list[Any]:
        """Items separated by commas up to the closing parenthesis (which is consumed)."""
        out: list[Any] = []
        nxt = self.peek()
        if nxt is not None and nxt.text == ")":
            self.at += 1
            return out
        while True:
            out.append(item())
            token = self.take()
            if token.text == ")":
                return out
            if token.text != ",":
                raise ConditionSyntaxError(
                    f"expected ',' or ')', found {token.text!r}", token.position
                )
