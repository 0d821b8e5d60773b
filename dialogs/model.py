"""The dialog script model: what an admin writes, after YAML or a workbook is parsed.

Structure only: pydantic checks types, required keys and unknown keys here; the
cross-references and Telegram limits are checked in `dialogs.validate`, which
needs the whole document (and the frameworks) at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

LANGUAGES: tuple[str, ...] = ("en", "sl", "de", "cs", "lt")
Language = Literal["en", "sl", "de", "cs", "lt"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
# Framework item ids may be numbers, as the Czech standards are ("5").
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
# A text in several languages: {"en": "...", "sl": "..."}; completeness is a validator rule.
Text = dict[Language, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]]
QuestionType = Literal["scale", "yes_no", "choice", "multi", "text", "nps"]
Scalar = int | float | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(Strict):
    """A structured condition on an earlier answer; exactly one operator per node.

    `question` is required in `show_if` of a question and omitted in a follow-up or a
    `safeguard_if`, where the condition reads the answer of the question it belongs to.
    """

    question: Identifier | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    contains: Scalar | None = None
    answered: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [name for name in OPERATORS if getattr(self, name) is not None]
        groups = [g for g in ("all", "any", "not_") if getattr(self, g) is not None]
        if len(ops) + len(groups) != 1:
            raise ValueError("a condition needs exactly one of: " + ", ".join(CONDITION_KEYS))
        if groups and self.question is not None:
            raise ValueError("'question' goes inside the conditions of all/any/not")
        return self

    def operator(self) -> tuple[str, object]:
        for name in OPERATORS:
            value = getattr(self, name)
            if value is not None:
                return name, value
        raise ValueError("not a comparison")

    def children(self) -> list[Condition]:
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        return [self.not_] if self.not_ is not None else []


OPERATORS: tuple[str, ...] = ("eq", "ne", "lt", "lte", "gt", "gte", "in_", "contains", "answered")
CONDITION_KEYS: tuple[str, ...] = (
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "answered", "all", "any", "not",
)  # fmt: skip


class Option(Strict):
    """A button: a scale point or a choice."""

    value: int | Identifier
    label: Text
    emoji: str | None = None
    # The option's place on the common 1-5 scale used by digests; derived when absent.
    score: float | None = Field(default=None, ge=1, le=5)


class Scale(Strict):
    options: list[Option] = Field(min_length=2)
    not_applicable: Text | None = None


class FollowUp(Strict):
    """An optional free-text comment asked right after its question when `show_if` holds."""

    show_if: Condition
    text: Text
    max_length: int = Field(default=500, ge=1, le=2000)


class Question(Strict):
    id: Identifier
    type: QuestionType
    text: Text
    hint: Text | None = None
    required: bool = False
    scale: Identifier | None = None  # type scale: the name of a scale in `scales`
    options: list[Option] | None = None  # types choice and multi
    max_length: int | None = Field(default=None, ge=1, le=2000)  # type text
    show_if: Condition | None = None
    follow_up: FollowUp | None = None
    # A safeguarding rule: a condition on this question's own answer (as a follow-up's
    # `show_if`). When an answer makes it hold, the person sees the organisation's help
    # text at once and its safeguarding contacts are alerted (`bot.services.safeguarding`).
    safeguard_if: Condition | None = None
    # Framework items, e.g. {"equass": ["participation"]}; the section's when absent.
    maps_to: dict[Identifier, list[ItemId]] | None = None


class Section(Strict):
    id: Identifier
    title: Text | None = None
    maps_to: dict[Identifier, list[ItemId]] = Field(default_factory=dict)
    questions: list[Question] = Field(min_length=1)


class Pulse(Strict):
    """How many questions one session asks; `cover-all` rotates the bank per respondent."""

    questions_per_session: int | None = Field(default=None, ge=1, le=50)
    rotation: Literal["cover-all", "none"] = "none"


class Script(Strict):
    id: Identifier
    audience: Literal["staff", "service_user"]
    languages: list[Language] = Field(min_length=1)
    # Languages whose texts still wait for a native speaker's review.
    needs_review: list[Language] = Field(default_factory=list)
    title: Text
    intro: Text | None = None
    thanks: Text
    pulse: Pulse = Field(default_factory=Pulse)
    # Service users: may the same person answer again in the same week?
    resubmit: bool = False
    scales: dict[Identifier, Scale] = Field(default_factory=dict)
    sections: list[Section] = Field(min_length=1)

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def section_of(self) -> dict[str, Section]:
        return {q.id: s for s in self.sections for q in s.questions}

    def mapping(self, question: Question) -> dict[str, list[str]]:
        if question.maps_to is not None:
            return question.maps_to
        return self.section_of()[question.id].maps_to
