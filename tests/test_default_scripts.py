"""The two default scripts: they load, validate, and are complete in every language."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from bot.services.script_registry import crosswalk
from dialogs import limits
from dialogs.conditions import holds, referenced_questions
from dialogs.model import LANGUAGES, Option, Question, Scale, Script, Section, Text
from dialogs.validate import validate_source
from frameworks import load_frameworks

SCRIPTS = Path(__file__).resolve().parent.parent / "dialogs" / "scripts"
STAFF = SCRIPTS / "staff-pulse.yaml"
SERVICE_USER = SCRIPTS / "service-user.yaml"
BOTH = pytest.mark.parametrize("path", [STAFF, SERVICE_USER], ids=lambda p: p.stem)

EQUASS = (
    "leadership",
    "staff",
    "rights",
    "ethics",
    "partnership",
    "participation",
    "person-centred",
    "comprehensiveness",
    "result-orientation",
    "continuous-improvement",
)
FRAMEWORK_ITEMS: dict[str, frozenset[str]] = {
    "equass": frozenset(EQUASS),
    "equass-revised": frozenset(
        {
            "rights-dignity",
            "empowerment",
            "quality-improvement",
            "leadership-governance",
            "workforce",
        }
    ),
    "cz-sqss": frozenset(str(n) for n in range(1, 16)),
    "eqalin": frozenset({"residents", "staff", "leadership", "environment", "learning"}),
}
# Each EQUASS principle and its section in the announced revised framework.
REVISED = {
    "leadership": "leadership-governance",
    "staff": "workforce",
    "rights": "rights-dignity",
    "ethics": "rights-dignity",
    "partnership": "leadership-governance",
    "participation": "empowerment",
    "person-centred": "empowerment",
    "comprehensiveness": "empowerment",
    "result-orientation": "quality-improvement",
    "continuous-improvement": "quality-improvement",
}
TRANSLATED = ["sl", "de", "cs", "lt"]
BUTTON = limits.MAX_BUTTON_LABEL_CHARS


def load(path: Path) -> Script:
    return Script.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


class _Frameworks:
    """The framework items the default scripts may refer to, for the validator."""

    def __contains__(self, framework_id: object) -> bool:
        return framework_id in FRAMEWORK_ITEMS

    def item(self, framework_id: str, item_id: str) -> object | None:
        return item_id if item_id in FRAMEWORK_ITEMS.get(framework_id, ()) else None


def texts(node: object, path: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """Every multilingual text in a script, found through the model's field types."""
    if isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            value = getattr(node, name)
            if value is None:
                continue
            if field.annotation in (Text, Text | None):
                yield f"{path}.{name}", value
            else:
                yield from texts(value, f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from texts(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from texts(item, f"{path}.{key}")


def limited_texts(script: Script) -> Iterator[tuple[str, dict[str, str], int]]:
    """Each text with the limit that its place on a screen puts on it."""
    yield "title", script.title, limits.MAX_TITLE_CHARS
    if script.intro is not None:
        yield "intro", script.intro, limits.MAX_INTRO_CHARS
    yield "thanks", script.thanks, limits.MAX_INTRO_CHARS
    for name, scale in script.scales.items():
        for option in scale.options:
            yield f"scales.{name}.{option.value}", option.label, BUTTON
        if scale.not_applicable is not None:
            yield f"scales.{name}.not_applicable", scale.not_applicable, BUTTON
    for section in script.sections:
        if section.title is not None:
            yield f"{section.id}.title", section.title, limits.MAX_TITLE_CHARS
        for question in section.questions:
            yield question.id, question.text, limits.MAX_QUESTION_CHARS
            if question.hint is not None:
                yield f"{question.id}.hint", question.hint, limits.MAX_HINT_CHARS
            for option in question.options or []:
                yield f"{question.id}.{option.value}", option.label, BUTTON
            if question.follow_up is not None:
                follow_up = question.follow_up
                yield f"{question.id}.follow_up", follow_up.text, limits.MAX_QUESTION_CHARS


# ---- both scripts ----


@BOTH
def test_loads_and_validates_against_the_model(path: Path) -> None:
    assert path.stat().st_size <= limits.MAX_FILE_BYTES
    script = load(path)
    assert script.id == path.stem


@BOTH
def test_passes_the_script_validator(path: Path) -> None:
    result = validate_source(path.read_bytes(), str(path), _Frameworks())
    assert result.errors == []
    assert result.ok


@BOTH
def test_has_no_yaml_anchors_or_aliases(path: Path) -> None:
    tokens = list(yaml.scan(path.read_text(encoding="utf-8")))
    assert not [t for t in tokens if isinstance(t, yaml.AnchorToken | yaml.AliasToken)]


@BOTH
def test_declares_all_languages_and_marks_translations_for_review(path: Path) -> None:
    script = load(path)
    assert script.languages == list(LANGUAGES)
    assert script.needs_review == TRANSLATED
    header = path.read_text(encoding="utf-8").split("\nid:", 1)[0].lower()
    assert header.startswith("#")
    assert "native" in header and "review" in header


@BOTH
def test_every_text_exists_in_every_declared_language(path: Path) -> None:
    script = load(path)
    found = list(texts(script))
    # The walk reaches every kind of text: titles, intro, thanks, questions, options...
    assert {p.rsplit(".", 1)[-1] for p, _ in found} >= {"title", "intro", "thanks", "text", "label"}
    for where, text in found:
        assert set(text) == set(script.languages), where
        assert all(value.strip() for value in text.values()), where


@BOTH
def test_translations_differ_from_english(path: Path) -> None:
    """A text copied over from English is a forgotten translation (emoji-free labels aside)."""
    script = load(path)
    same = [
        (where, lang)
        for where, text in texts(script)
        for lang in TRANSLATED
        if text[lang] == text["en"] and len(text["en"]) > 12
    ]
    assert same == []


@BOTH
def test_ids_are_unique(path: Path) -> None:
    script = load(path)
    ids = [s.id for s in script.sections] + [q.id for q in script.questions()]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


@BOTH
def test_texts_stay_within_limits(path: Path) -> None:
    for where, text, limit in limited_texts(load(path)):
        for lang, value in text.items():
            assert len(value) <= limit, (where, lang, len(value))


@BOTH
def test_questions_are_short_enough_for_a_phone(path: Path) -> None:
    for question in load(path).questions():
        for lang, value in question.text.items():
            assert len(value) <= 160, (question.id, lang, len(value))


@BOTH
def test_maps_to_refers_only_to_known_framework_items(path: Path) -> None:
    script = load(path)
    mappings = [s.maps_to for s in script.sections]
    mappings += [q.maps_to for q in script.questions() if q.maps_to is not None]
    for mapping in mappings:
        for framework, items in mapping.items():
            assert framework in FRAMEWORK_ITEMS, framework
            assert set(items) <= FRAMEWORK_ITEMS[framework], (framework, items)
            assert items, framework


@BOTH
def test_every_question_is_mapped_to_all_four_frameworks(path: Path) -> None:
    """Every question that can be answered about the service; the choice of which open
    question comes next (service users) assesses nothing and maps to nothing."""
    script = load(path)
    for question in script.questions():
        expected = set() if question.type == "choice" else set(FRAMEWORK_ITEMS)
        assert set(script.mapping(question)) == expected, question.id


@pytest.mark.parametrize("lens", sorted(FRAMEWORK_ITEMS))
def test_together_the_scripts_assess_every_item_of_every_lens(lens: str) -> None:
    """With the frameworks' own links added, the shipped scripts leave no item unasked."""
    frameworks = load_frameworks()
    assessed = {
        item
        for path in (STAFF, SERVICE_USER)
        for _question, framework, item in crosswalk(load(path), frameworks)
        if framework == lens
    }
    assert assessed == set(frameworks.get(lens).items)


@pytest.mark.parametrize("standard", ["3", "4", "11", "14"])
def test_the_czech_standards_a_pulse_can_speak_to_have_questions_of_their_own(
    standard: str,
) -> None:
    """First contact, the agreement, service times and emergencies: each asked directly."""
    scripts = [load(STAFF), load(SERVICE_USER)]
    asked = [
        q.id
        for script in scripts
        for q in script.questions()
        if standard in script.mapping(q).get("cz-sqss", [])
    ]
    assert asked, standard


@BOTH
def test_scales_are_five_point_with_emoji_and_not_applicable(path: Path) -> None:
    script = load(path)
    assert script.scales
    for scale in script.scales.values():
        assert isinstance(scale, Scale)
        assert [o.value for o in scale.options] == [1, 2, 3, 4, 5]
        assert all(isinstance(o, Option) and o.emoji for o in scale.options)
        assert len({o.emoji for o in scale.options}) == 5
        assert scale.not_applicable is not None
    for question in script.questions():
        if question.type == "scale":
            assert question.scale in script.scales, question.id


# ---- staff pulse ----


def test_staff_pulse_settings() -> None:
    script = load(STAFF)
    assert script.id == "staff-pulse"
    assert script.audience == "staff"
    assert script.pulse.questions_per_session == 5
    assert script.pulse.rotation == "cover-all"
    assert list(script.scales) == ["agree5"]


def test_staff_pulse_has_one_section_per_principle() -> None:
    script = load(STAFF)
    assert [s.id for s in script.sections] == list(EQUASS)
    for section in script.sections:
        assert isinstance(section, Section)
        assert section.title is not None
        assert section.maps_to["equass"] == [section.id]
        assert section.maps_to["equass-revised"] == [REVISED[section.id]]
        assert set(section.maps_to) == set(FRAMEWORK_ITEMS)


def test_staff_pulse_bank_has_forty_statements_at_least_three_per_principle() -> None:
    """40 statements, five a week: a cycle is 8 weeks, the default score window."""
    script = load(STAFF)
    questions = script.questions()
    assert len(questions) == 40
    per_principle = Counter(
        item for question in questions for item in script.mapping(question)["equass"]
    )
    assert set(per_principle) == set(EQUASS)
    assert min(per_principle.values()) >= 3, per_principle
    assert max(per_principle.values()) <= 7, per_principle


# Version 1's statements that asked two things at once; version 2 asks each part alone.
DOUBLE_BARRELLED = {
    "rights_complaints": ("rights_complaints_know", "rights_complaints_serious"),
    "rights_restrictions": ("rights_restrict_last", "rights_restrict_recorded"),
    "improve_ideas": ("improve_ideas_welcome", "improve_ideas_used"),
    "staff_supervision": ("staff_supervision_regular", "staff_reflection"),
    # "where our organisation is heading and why": the why is left out, the where kept.
    "lead_direction": ("lead_heading",),
}
# "And" and "or" inside one claim: one group of people, one move either way.
ONE_CLAIM = ("families and carers", "to or from")


def test_staff_statements_ask_one_thing_each() -> None:
    """The double-barrelled statements are gone, each part asked alone under a new id; no
    statement joins two claims with "and" or "or"."""
    ids = {q.id: q for q in load(STAFF).questions()}
    for old, parts in DOUBLE_BARRELLED.items():
        assert old not in ids
        assert all(part in ids for part in parts), parts
    for question in ids.values():
        english = question.text["en"]
        for phrase in ONE_CLAIM:
            english = english.replace(phrase, "")
        assert not re.search(r"\b(and|or)\b", english), (question.id, english)


def test_staff_statements_keep_their_principle_when_remapped() -> None:
    script = load(STAFF)
    for section in script.sections:
        for question in section.questions:
            mapping = script.mapping(question)
            assert mapping["equass"] == [section.id], question.id
            assert mapping["equass-revised"] == [REVISED[section.id]], question.id


def test_every_staff_statement_invites_a_comment_when_low() -> None:
    for question in load(STAFF).questions():
        assert isinstance(question, Question)
        assert question.type == "scale" and question.scale == "agree5", question.id
        assert not question.required, question.id
        follow_up = question.follow_up
        assert follow_up is not None, question.id
        assert follow_up.show_if.question is None
        assert follow_up.show_if.operator() == ("lte", 2)
        assert follow_up.max_length == 500


# ---- service users ----


def test_service_user_settings() -> None:
    script = load(SERVICE_USER)
    assert script.id == "service-user"
    assert script.audience == "service_user"
    assert script.resubmit is False
    assert script.pulse.rotation == "none"
    assert script.pulse.questions_per_session is None
    assert list(script.scales) == ["smile5"]


def test_service_user_items() -> None:
    questions = load(SERVICE_USER).questions()
    scale_items = [q for q in questions if q.type == "scale"]
    assert 4 <= len(scale_items) <= 7
    assert all(q.scale == "smile5" for q in scale_items)
    kinds = ["scale"] * len(scale_items) + ["choice", "text", "text"]
    assert [q.type for q in questions] == kinds
    assert all(q.max_length == 1000 for q in questions if q.type == "text")


def test_service_users_are_asked_about_seven_principles_empowerment_among_them() -> None:
    script = load(SERVICE_USER)
    principles = {i for q in script.questions() for i in script.mapping(q).get("equass", [])}
    assert len(principles) >= 7, principles
    yourself = {q.id: q for q in script.questions()}["su_yourself"]
    assert yourself.text["en"] == "Do staff help you do things yourself?"
    assert script.mapping(yourself)["equass-revised"] == ["empowerment"]


def test_service_users_are_asked_whom_to_tell_and_not_knowing_is_a_safeguarding_signal() -> None:
    script = load(SERVICE_USER)
    by_id = {q.id: q for q in script.questions()}
    complain = by_id["su_complain"]
    assert complain.text["en"] == "Do you know who to tell if you are unhappy?"
    assert set(complain.text) == {"en", "sl", "de", "cs", "lt"}
    assert script.mapping(complain)["equass"] == ["rights"]
    assert script.mapping(complain)["cz-sqss"] == ["7"]
    flagged = {q.id for q in script.questions() if q.safeguard_if is not None}
    assert {"su_safe", "su_complain"} <= flagged
    # Outcomes have a question of their own.
    assert script.mapping(by_id["su_difference"])["equass"] == ["result-orientation"]


def test_a_good_word_and_an_improvement_are_both_open_questions() -> None:
    by_id = {q.id: q for q in load(SERVICE_USER).questions()}
    assert by_id["su_good"].text["en"] == "What is good here?"
    assert by_id["su_better"].text["en"] == "What should we do better?"
    assert {o.value for o in by_id["su_tell"].options or []} == {"good", "better", "nothing"}


@dataclass(frozen=True)
class _Given:
    """An answer as conditions read it."""

    value: object = None
    skipped: bool = False
    not_applicable: bool = False


def _outcomes(script: Script, question: Question) -> list[tuple[_Given, int]]:
    """What a person can do on a question that is not text, and how many taps it costs."""
    skip = (_Given(skipped=True), 1)
    if question.type == "scale":
        scale = script.scales[question.scale or ""]
        given = [(_Given(o.value), 1) for o in scale.options]
        return [*given, (_Given(not_applicable=True), 1), skip]
    if question.type == "choice":
        return [*((_Given(o.value), 1) for o in question.options or []), skip]
    if question.type == "multi":
        every = [o.value for o in question.options or []]  # toggle each, then confirm
        return [(_Given(every), len(every) + 1), skip]
    if question.type == "yes_no":
        return [(_Given("yes"), 1), (_Given("no"), 1), skip]
    return [*((_Given(n), 1) for n in range(11)), skip]  # nps


def longest_path(script: Script) -> tuple[int, int]:
    """The most taps and the most text steps on any path through the script.

    Every answer a later condition or a follow-up reads is tried; any other question
    costs its taps whatever the answer, so one answer stands for all.
    """
    questions = script.questions()
    read = {
        q
        for question in questions
        if question.show_if
        for q in referenced_questions(question.show_if)
    }
    most = (0, 0)

    def walk(index: int, answers: dict[str, _Given], taps: int, texts: int) -> None:
        nonlocal most
        if index == len(questions):
            most = (max(most[0], taps), max(most[1], texts))
            return
        question = questions[index]
        if question.show_if is not None and not holds(question.show_if, answers, None):
            walk(index + 1, answers, taps, texts)
            return
        if question.type == "text":
            assert not question.required, question.id
            walk(index + 1, answers, taps, texts + 1)
            return
        outcomes = _outcomes(script, question)
        if question.id not in read and question.follow_up is None:
            outcomes = [max(outcomes, key=lambda o: o[1])]
        for given, cost in outcomes:
            follow = question.follow_up
            extra = int(
                follow is not None and holds(follow.show_if, {question.id: given}, question.id)
            )
            walk(index + 1, {**answers, question.id: given}, taps + cost, texts + extra)

    walk(0, {}, 0, 0)
    return most


def test_service_user_feedback_is_at_most_eight_taps_and_one_optional_text() -> None:
    taps, texts_ = longest_path(load(SERVICE_USER))
    assert taps <= 8, taps
    assert texts_ <= 1, texts_
    assert (taps, texts_) == (8, 1)  # the path that picks an open question


def test_the_longest_path_counts_what_it_should() -> None:
    """The walk itself: a second open question on one path, or a multiple choice, is found."""
    doc = yaml.safe_load(SERVICE_USER.read_text(encoding="utf-8"))
    both = doc["sections"][1]["questions"]
    del both[2]["show_if"]  # "What should we do better?" now follows every choice
    assert longest_path(Script.model_validate(doc)) == (8, 2)
    doc["sections"][1]["questions"][0]["type"] = "multi"  # toggle all three, then confirm
    assert longest_path(Script.model_validate(doc)) == (11, 1)  # a list is never "good"


def test_service_user_never_meets_a_question_they_cannot_skip() -> None:
    assert "required: true" not in SERVICE_USER.read_text(encoding="utf-8")
    assert not [q.id for q in load(SERVICE_USER).questions() if q.required]


def test_service_user_items_speak_to_the_residents_perspective() -> None:
    script = load(SERVICE_USER)
    for question in script.questions():
        if question.type == "choice":
            continue
        assert "residents" in script.mapping(question)["eqalin"], question.id


def test_service_user_buttons_are_very_short() -> None:
    scale = load(SERVICE_USER).scales["smile5"]
    for option in scale.options:
        assert all(len(label) <= 15 for label in option.label.values()), option.value
