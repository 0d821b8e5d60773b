"""The two default scripts: they load, validate, and are complete in every language."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dialogs import limits
from dialogs.model import LANGUAGES, Option, Question, Scale, Script, Section, Text
from dialogs.validate import validate_source

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
    script = load(path)
    for question in script.questions():
        assert set(script.mapping(question)) == set(FRAMEWORK_ITEMS), question.id


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


def test_staff_pulse_bank_has_forty_statements_weighted_to_the_core_principles() -> None:
    script = load(STAFF)
    questions = script.questions()
    assert len(questions) == 40
    per_section = {s.id: len(s.questions) for s in script.sections}
    for core in ("leadership", "rights", "participation", "person-centred"):
        assert 5 <= per_section[core] <= 7, core
    for other in set(EQUASS) - {"leadership", "rights", "participation", "person-centred"}:
        assert 2 <= per_section[other] <= 4, other


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
    assert [q.type for q in questions] == ["scale"] * len(scale_items) + ["text"]
    comment = questions[-1]
    assert comment.max_length == 1000


def test_service_user_never_meets_a_question_they_cannot_skip() -> None:
    assert "required: true" not in SERVICE_USER.read_text(encoding="utf-8")
    assert not [q.id for q in load(SERVICE_USER).questions() if q.required]


def test_service_user_items_speak_to_the_residents_perspective() -> None:
    script = load(SERVICE_USER)
    for question in script.questions():
        assert "residents" in script.mapping(question)["eqalin"], question.id


def test_service_user_buttons_are_very_short() -> None:
    scale = load(SERVICE_USER).scales["smile5"]
    for option in scale.options:
        assert all(len(label) <= 15 for label in option.label.values()), option.value
