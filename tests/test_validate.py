"""Script validation: every rule reports a located error (line, path, code), all in one pass."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs import limits, source
from dialogs.source import ScriptError
from dialogs.validate import Validation, validate_file, validate_source
from tests.scriptdocs import (
    STUB,
    Doc,
    choice_q,
    document,
    follow_up,
    full_document,
    line_of,
    multi_q,
    nps_q,
    scale_q,
    section,
    text_q,
    to_yaml,
    tr,
    yes_no_q,
)

Located = tuple[int | None, str, str]


def check(data: bytes | str | Doc) -> Validation:
    text = data if isinstance(data, bytes | str) else to_yaml(data)
    return validate_source(text, "script.yaml", STUB)


def located(result: Validation) -> list[Located]:
    return [(e.line, e.path, e.code) for e in result.errors]


def only_error(data: bytes | str | Doc) -> ScriptError:
    result = check(data)
    assert result.script is None
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    return result.errors[0]


def expect(doc: Doc, needle: str, path: str, code: str, nth: int = 1) -> ScriptError:
    """The document has exactly one error: on the line of `needle`, at `path`, with `code`."""
    error = only_error(doc)
    assert (error.line, error.path, error.code) == (line_of(to_yaml(doc), needle, nth), path, code)
    assert error.file == "script.yaml"
    return error


def questions(doc: Doc) -> list[Doc]:
    return [q for s in doc["sections"] for q in s["questions"]]


def q(doc: Doc, qid: str) -> Doc:
    return next(x for x in questions(doc) if x["id"] == qid)


# ---- valid documents ----


def test_full_document_is_valid() -> None:
    result = check(full_document())
    assert result.errors == []
    assert result.ok
    assert result.script is not None
    assert [x.type for x in result.script.questions()] == [
        "scale", "scale", "yes_no", "choice", "multi", "nps", "scale", "text",
    ]  # fmt: skip


def test_validation_with_the_shipped_frameworks() -> None:
    from frameworks import default_frameworks

    registry = default_frameworks()
    good = validate_source(to_yaml(full_document()), "script.yaml", registry)
    assert good.ok, [str(e) for e in good.errors]
    doc = full_document()
    doc["sections"][0]["maps_to"] = {"equass": ["participation", "no-such-principle"]}
    bad = validate_source(to_yaml(doc), "script.yaml", registry)
    assert located(bad) == [
        (line_of(to_yaml(doc), "no-such-principle"), "sections[0].maps_to.equass[1]", "reference")
    ]


def test_every_language_of_the_model_is_accepted() -> None:
    langs = ["en", "sl", "de", "cs", "lt"]
    assert check(full_document(langs)).ok


def test_validate_file_reads_bytes_and_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(to_yaml(full_document()), encoding="utf-8")
    assert validate_file(good, STUB).ok
    bad = tmp_path / "bad.yaml"
    doc = full_document()
    doc["colour"] = "blue"
    bad.write_text(to_yaml(doc), encoding="utf-8")
    result = validate_file(bad, STUB)
    assert [(e.file, e.line, e.code) for e in result.errors] == [
        (str(bad), line_of(to_yaml(doc), "colour:"), "unknown_key")
    ]
    assert str(result.errors[0]).startswith(f"{bad}:{result.errors[0].line}: colour: ")


def test_validate_file_reports_an_unreadable_path(tmp_path: Path) -> None:
    result = validate_file(tmp_path / "missing.yaml", STUB)
    assert result.script is None
    assert [(e.line, e.path) for e in result.errors] == [(None, "")]
    assert "cannot read" in result.errors[0].message


# ---- unknown keys and languages ----

UNKNOWN_KEY_PLACES = {
    "root": (lambda d: d, "colour"),
    "section": (lambda d: d["sections"][1], "sections[1].colour"),
    "question": (lambda d: q(d, "safe"), "sections[0].questions[2].colour"),
    "follow_up": (lambda d: q(d, "safe")["follow_up"], "sections[0].questions[2].follow_up.colour"),
    "condition": (lambda d: q(d, "when")["show_if"], "sections[0].questions[3].show_if.colour"),
    "scale": (lambda d: d["scales"]["freq3"], "scales.freq3.colour"),
    "option": (lambda d: d["scales"]["agree5"]["options"][2], "scales.agree5.options[2].colour"),
    "pulse": (lambda d: d.setdefault("pulse", {}), "pulse.colour"),
}


@pytest.mark.parametrize("place", sorted(UNKNOWN_KEY_PLACES))
def test_unknown_key(place: str) -> None:
    doc = full_document()
    where, path = UNKNOWN_KEY_PLACES[place]
    where(doc)["colour"] = "blue"
    error = expect(doc, "colour: blue", path, "unknown_key")
    assert "colour" in error.message


@pytest.mark.parametrize("key", ["int", "str", "float", "function-after"])
def test_unknown_key_named_like_a_type(key: str) -> None:
    doc = full_document()
    doc[key] = None
    expect(doc, f"{key}: null", key, "unknown_key")


def test_unknown_language_in_a_text() -> None:
    doc = full_document()
    q(doc, "trust")["text"]["fr"] = "Confiance ?"
    expect(doc, "fr: Confiance", "sections[0].questions[1].text.fr", "language")


def test_undeclared_language_in_languages() -> None:
    doc = full_document()
    doc["languages"] = ["en", "sl", "xx"]
    error = only_error(doc)
    assert (error.line, error.path, error.code) == (
        line_of(to_yaml(doc), "- xx"),
        "languages[2]",
        "type",
    )


MISSING_LANGUAGE_PLACES = {
    "title": (lambda d: d["title"], "title", "title:"),
    "intro": (lambda d: d["intro"], "intro", "intro:"),
    "thanks": (lambda d: d["thanks"], "thanks", "thanks:"),
    "question": (
        lambda d: q(d, "help")["text"],
        "sections[0].questions[4].text",
        "Question help? [en]",
    ),
    "hint": (lambda d: q(d, "comment")["hint"], "sections[1].questions[2].hint", "hint:"),
    "option": (
        lambda d: q(d, "when")["options"][1]["label"],
        "sections[0].questions[3].options[1].label",
        "Sometimes [en]",
    ),
    "scale_point": (
        lambda d: d["scales"]["freq3"]["options"][0]["label"],
        "scales.freq3.options[0].label",
        "point 1 [en]",
    ),
    "not_applicable": (
        lambda d: d["scales"]["agree5"]["not_applicable"],
        "scales.agree5.not_applicable",
        "not_applicable:",
    ),
    "follow_up": (
        lambda d: q(d, "recommend")["follow_up"]["text"],
        "sections[1].questions[0].follow_up.text",
        "What would help? [en]",
    ),
    "section_title": (lambda d: d["sections"][0]["title"], "sections[0].title", "Daily life [en]"),
}


@pytest.mark.parametrize("place", sorted(MISSING_LANGUAGE_PLACES))
def test_missing_language(place: str) -> None:
    doc = full_document()
    where, path, needle = MISSING_LANGUAGE_PLACES[place]
    text = where(doc)
    del text["sl"]
    # freq3's first label comes after agree5's; recommend's follow-up after plan's and safe's
    nth = {"scale_point": 2, "follow_up": 3}.get(place, 1)
    error = only_error(doc)
    yaml_text = to_yaml(doc)
    # A text map's line is the line of its key, one above its first language.
    line = line_of(yaml_text, needle, nth)
    if needle.endswith("]"):
        line -= 1
    assert (error.line, error.path, error.code) == (line, path, "language")
    assert "'sl'" in error.message


def test_blank_text_counts_as_missing() -> None:
    doc = full_document()
    doc["thanks"]["sl"] = "   "
    result = check(doc)
    assert (line_of(to_yaml(doc), "thanks:"), "thanks", "language") in located(result)


def test_needs_review_must_be_declared() -> None:
    doc = full_document()
    doc["needs_review"] = ["sl", "de"]
    expect(doc, "- de", "needs_review[1]", "invalid")


def test_a_language_listed_twice() -> None:
    doc = full_document()
    doc["languages"] = ["en", "sl", "en"]
    expect(doc, "languages:", "languages", "invalid")


# ---- ids and references ----


def test_duplicate_question_id_across_sections() -> None:
    doc = full_document()
    q(doc, "heard")["id"] = "trust"
    error = expect(doc, "id: trust", "sections[1].questions[1].id", "duplicate_id", nth=2)
    assert "'trust'" in error.message


def test_duplicate_section_id() -> None:
    doc = full_document()
    doc["sections"][1]["id"] = "daily"
    expect(doc, "id: daily", "sections[1].id", "duplicate_id", nth=2)


def test_duplicate_choice_value() -> None:
    doc = full_document()
    q(doc, "when")["options"][2]["value"] = "often"
    expect(doc, "value: often", "sections[0].questions[3].options[2].value", "duplicate", nth=2)


def test_duplicate_scale_point() -> None:
    doc = full_document()
    doc["scales"]["freq3"]["options"][2]["value"] = 2
    expect(doc, "value: 2", "scales.freq3.options[2].value", "duplicate", nth=3)


def test_scale_points_are_whole_numbers() -> None:
    doc = full_document()
    doc["scales"]["freq3"]["options"][0]["value"] = "low"
    expect(doc, "value: low", "scales.freq3.options[0].value", "invalid")


def test_dangling_scale_reference() -> None:
    doc = full_document()
    q(doc, "trust")["scale"] = "freq4"
    error = expect(doc, "scale: freq4", "sections[0].questions[1].scale", "reference")
    assert "'freq4'" in error.message


def test_scale_question_without_a_scale() -> None:
    doc = full_document()
    del q(doc, "trust")["scale"]
    expect(doc, "id: trust", "sections[0].questions[1]", "reference")


@pytest.mark.parametrize(
    ("mapping", "needle", "suffix"),
    [
        ({"iso9001": ["7"]}, "iso9001:", ".iso9001"),
        ({"equass": ["rights", "no-such-item"]}, "- no-such-item", ".equass[1]"),
        ({"cz-sqss": ["99"]}, "- '99'", ".cz-sqss[0]"),
    ],
)
@pytest.mark.parametrize("owner", ["section", "question"])
def test_dangling_framework_reference(
    mapping: dict[str, list[str]], needle: str, suffix: str, owner: str
) -> None:
    doc = full_document()
    if owner == "section":
        doc["sections"][1]["maps_to"] = mapping
        path = "sections[1].maps_to" + suffix
    else:
        q(doc, "heard")["maps_to"] = mapping
        path = "sections[1].questions[1].maps_to" + suffix
    expect(doc, needle, path, "reference")


@pytest.mark.parametrize("ref", ["comment", "when", "nobody"], ids=["later", "itself", "unknown"])
def test_condition_must_read_an_earlier_question(ref: str) -> None:
    doc = full_document()
    q(doc, "when")["show_if"] = {"question": ref, "answered": True}
    error = expect(
        doc, f"question: {ref}", "sections[0].questions[3].show_if.question", "reference"
    )
    assert f"'{ref}'" in error.message


def test_condition_inside_a_group_is_checked() -> None:
    doc = full_document()
    q(doc, "heard")["show_if"] = {
        "any": [
            {"question": "plan", "gte": 4},
            {"not": {"question": "comment", "answered": True}},
        ]
    }
    expect(
        doc,
        "question: comment",
        "sections[1].questions[1].show_if.any[1].not.question",
        "reference",
    )


def test_show_if_needs_a_question() -> None:
    doc = full_document()
    q(doc, "when")["show_if"] = {"eq": "yes"}
    # after the follow-up conditions of plan and safe
    expect(doc, "show_if:", "sections[0].questions[3].show_if", "invalid", nth=3)


def test_follow_up_condition_naming_another_question() -> None:
    doc = full_document()
    q(doc, "recommend")["follow_up"]["show_if"] = {"question": "plan", "lte": 2}
    error = expect(
        doc,
        "question: plan",
        "sections[1].questions[0].follow_up.show_if.question",
        "invalid",
    )
    assert "own question" in error.message


def test_follow_up_condition_may_name_its_own_question() -> None:
    doc = full_document()
    q(doc, "recommend")["follow_up"]["show_if"] = {"question": "recommend", "lte": 2}
    assert check(doc).ok


@pytest.mark.parametrize("op", ["lt", "lte", "gt", "gte"])
@pytest.mark.parametrize("target", ["safe", "when", "help", "comment"])
def test_ordered_operator_on_a_non_numeric_question(op: str, target: str) -> None:
    doc = full_document()
    # The condition goes on a new last question, so that every target is earlier.
    conditioned = text_q("after")
    conditioned["show_if"] = {"question": target, op: 3}
    doc["sections"][1]["questions"].append(conditioned)
    error = expect(doc, f"{op}: 3", f"sections[1].questions[3].show_if.{op}", "invalid")
    assert "compares numbers" in error.message


def test_ordered_operator_in_a_follow_up_of_a_non_numeric_question() -> None:
    doc = full_document()
    q(doc, "safe")["follow_up"]["show_if"] = {"lt": 2}
    expect(doc, "lt: 2", "sections[0].questions[2].follow_up.show_if.lt", "invalid")


@pytest.mark.parametrize("target", ["plan", "recommend", "trust"])
def test_ordered_operator_on_a_numeric_question_is_fine(target: str) -> None:
    doc = full_document()
    q(doc, "comment")["show_if"] = {"question": target, "gte": 2}
    assert check(doc).ok


def test_contains_needs_a_multiple_choice_question() -> None:
    doc = full_document()
    q(doc, "heard")["show_if"] = {"question": "when", "contains": "often"}
    expect(doc, "contains: often", "sections[1].questions[1].show_if.contains", "invalid")


@pytest.mark.parametrize("op", ["eq", "ne", "in"])
def test_single_value_comparison_on_a_multiple_choice_question(op: str) -> None:
    doc = full_document()
    q(doc, "heard")["show_if"] = {"question": "help", op: ["meals"] if op == "in" else "meals"}
    needle = "in:" if op == "in" else f"{op}: meals"
    error = expect(doc, needle, f"sections[1].questions[1].show_if.{op}", "invalid")
    assert "contains" in error.message


@pytest.mark.parametrize(
    ("target", "op", "value"),
    [
        ("safe", "eq", "maybe"),
        ("safe", "ne", "sometimes"),
        ("when", "eq", "always"),
        ("plan", "eq", 6),
        ("trust", "eq", 4),
        ("recommend", "eq", 11),
        ("plan", "in", [1, 9]),
    ],
)
def test_value_that_is_not_a_possible_answer(target: str, op: str, value: Any) -> None:
    doc = full_document()
    q(doc, "comment")["show_if"] = {"question": target, op: value}
    bad = value[-1] if isinstance(value, list) else value
    error = expect(doc, f"{op}:", f"sections[1].questions[2].show_if.{op}", "reference", nth=-1)
    assert f"{bad!r} is not a possible answer" in error.message


@pytest.mark.parametrize(
    ("target", "op", "value"),
    [
        ("safe", "eq", "unsure"),
        ("when", "ne", "never"),
        ("plan", "in", [1, 2]),
        ("recommend", "eq", 0),
        ("recommend", "eq", 10),
        ("trust", "eq", 3),
        ("help", "contains", "meals"),
        ("comment", "answered", False),
    ],
)
def test_possible_answers_are_accepted(target: str, op: str, value: Any) -> None:
    doc = full_document()
    doc["sections"][1]["questions"].append(text_q("after", show_if={"question": target, op: value}))
    assert check(doc).ok


def test_yaml_boolean_is_not_a_yes_no_answer() -> None:
    # YAML 1.1 reads an unquoted `yes` as true: the validator must not let it pass.
    doc = full_document()
    text = to_yaml(doc).replace("eq: 'yes'", "eq: yes")
    assert "eq: yes" in text
    error = only_error(text)
    assert (error.line, error.path, error.code) == (
        line_of(text, "eq: yes"),
        "sections[0].questions[3].show_if.eq",
        "reference",
    )


# ---- question shapes ----


def test_scale_does_not_apply_to_other_types() -> None:
    doc = full_document()
    q(doc, "safe")["scale"] = "agree5"
    expect(doc, "scale: agree5", "sections[0].questions[2].scale", "invalid", nth=2)


def test_options_do_not_apply_to_other_types() -> None:
    doc = full_document()
    q(doc, "recommend")["options"] = copy.deepcopy(q(doc, "when")["options"])
    # after the options of agree5, freq3, when and help
    expect(doc, "options:", "sections[1].questions[0].options", "invalid", nth=5)


def test_choice_needs_two_options() -> None:
    doc = full_document()
    del q(doc, "when")["options"][1:]
    expect(doc, "id: when", "sections[0].questions[3]", "invalid")


def test_too_many_options() -> None:
    values = [f"v{i}" for i in range(limits.MAX_OPTIONS + 1)]
    doc = full_document()
    doc["sections"][0]["questions"][4] = multi_q("help", values)
    expect(doc, "options:", "sections[0].questions[4].options", "too_many", nth=4)
    doc["sections"][0]["questions"][4] = multi_q("help", values[:-1])
    assert check(doc).ok


def test_max_length_applies_to_text_only() -> None:
    doc = full_document()
    q(doc, "safe")["max_length"] = 100
    expect(doc, "max_length: 100", "sections[0].questions[2].max_length", "invalid", nth=2)


@pytest.mark.parametrize("kind", ["text", "multi"])
def test_follow_up_only_on_single_answers(kind: str) -> None:
    doc = full_document()
    target = "comment" if kind == "text" else "help"
    q(doc, target)["follow_up"] = follow_up({"answered": True})
    yaml_text = to_yaml(doc)
    error = only_error(doc)
    path = "sections[1].questions[2]" if kind == "text" else "sections[0].questions[4]"
    line = [i for i, ln in enumerate(yaml_text.splitlines(), 1) if "follow_up:" in ln]
    assert error.path == path + ".follow_up"
    assert error.line in line
    assert error.code == "invalid"


def test_service_user_questions_cannot_be_required() -> None:
    doc = full_document()
    doc["audience"] = "service_user"
    error = expect(doc, "required: true", "sections[0].questions[0].required", "required")
    assert "skip" in error.message


def test_staff_questions_may_be_required() -> None:
    doc = full_document()
    q(doc, "safe")["required"] = True
    assert check(doc).ok


# ---- sizes ----

LONG_TEXTS = {
    "title": (lambda d: d["title"], "title", limits.MAX_TITLE_CHARS),
    "intro": (lambda d: d["intro"], "intro", limits.MAX_INTRO_CHARS),
    "thanks": (lambda d: d["thanks"], "thanks", limits.MAX_INTRO_CHARS),
    "section_title": (lambda d: d["sections"][0]["title"], "sections[0].title", 120),
    "question": (
        lambda d: q(d, "safe")["text"],
        "sections[0].questions[2].text",
        limits.MAX_QUESTION_CHARS,
    ),
    "hint": (
        lambda d: q(d, "comment")["hint"],
        "sections[1].questions[2].hint",
        limits.MAX_HINT_CHARS,
    ),
    "option": (
        lambda d: q(d, "help")["options"][0]["label"],
        "sections[0].questions[4].options[0].label",
        limits.MAX_BUTTON_LABEL_CHARS,
    ),
    "scale_point": (
        lambda d: d["scales"]["agree5"]["options"][4]["label"],
        "scales.agree5.options[4].label",
        limits.MAX_BUTTON_LABEL_CHARS,
    ),
    "not_applicable": (
        lambda d: d["scales"]["agree5"]["not_applicable"],
        "scales.agree5.not_applicable",
        limits.MAX_BUTTON_LABEL_CHARS,
    ),
    "follow_up": (
        lambda d: q(d, "plan")["follow_up"]["text"],
        "sections[0].questions[0].follow_up.text",
        limits.MAX_QUESTION_CHARS,
    ),
}


@pytest.mark.parametrize("place", sorted(LONG_TEXTS))
def test_text_over_its_limit(place: str) -> None:
    where, path, limit = LONG_TEXTS[place]
    doc = full_document()
    where(doc)["sl"] = "y" * limit
    assert check(doc).ok, "a text of exactly the limit is fine"
    where(doc)["sl"] = "y" * (limit + 1)
    error = expect(doc, "y" * (limit + 1), path + ".sl", "long")
    assert str(limit) in error.message


def test_text_length_ignores_surrounding_space() -> None:
    doc = full_document()
    doc["title"]["en"] = "  " + "t" * limits.MAX_TITLE_CHARS + "  "
    assert check(doc).ok


def test_more_than_two_hundred_questions() -> None:
    per_section = [section(f"s{k}", [yes_no_q(f"q{k}x{i}") for i in range(40)]) for k in range(5)]
    doc = document(per_section)
    assert check(doc).ok, "200 questions are fine"
    doc["sections"][4]["questions"].append(yes_no_q("one-too-many"))
    error = expect(doc, "sections:", "sections", "too_many")
    assert "201" in error.message


def test_file_over_the_size_limit() -> None:
    text = to_yaml(full_document())
    padding = limits.MAX_FILE_BYTES - len(text.encode()) - 2
    exact = text + "#" + "x" * padding + "\n"
    assert len(exact.encode()) == limits.MAX_FILE_BYTES
    assert check(exact).ok
    error = only_error(exact.replace("#", "#x", 1))
    assert (error.line, error.path, error.code) == (None, "", "too_big")
    assert str(limits.MAX_FILE_BYTES) in error.message


def test_size_limit_counts_bytes_not_characters() -> None:
    text = to_yaml(full_document())
    chars = (limits.MAX_FILE_BYTES - len(text.encode())) // 4
    wide = text + "#" + "😀" * chars + "\n"
    assert len(wide) < limits.MAX_FILE_BYTES < len(wide.encode())
    assert only_error(wide).code == "too_big"


# ---- pulse ----


def without_conditions(doc: dict) -> dict:  # type: ignore[type-arg]
    for part in doc["sections"]:
        for question in part["questions"]:
            question.pop("show_if", None)
    return doc


def test_a_rotating_pulse_has_no_conditions_between_questions() -> None:
    doc = full_document()
    doc["pulse"] = {"questions_per_session": 3, "rotation": "cover-all"}
    result = check(doc)
    conditional = [
        f"sections[{i}].questions[{j}].show_if"
        for i, part in enumerate(doc["sections"])
        for j, question in enumerate(part["questions"])
        if "show_if" in question
    ]
    assert conditional and [e.path for e in result.errors] == conditional
    assert all("rotating pulse" in e.message and e.line for e in result.errors)
    assert check(without_conditions(doc)).ok


def test_pulse_asking_more_than_the_script_has() -> None:
    doc = without_conditions(full_document())
    doc["pulse"] = {"questions_per_session": 9, "rotation": "cover-all"}
    error = expect(doc, "questions_per_session: 9", "pulse.questions_per_session", "invalid")
    assert "8" in error.message


def test_pulse_cover_all_needs_a_session_size() -> None:
    doc = without_conditions(full_document())
    doc["pulse"] = {"rotation": "cover-all"}
    expect(doc, "pulse:", "pulse", "invalid")


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (8, True)])
def test_pulse_session_size_bounds(size: int, ok: bool) -> None:
    doc = full_document()
    doc["pulse"] = {"questions_per_session": size, "rotation": "none"}
    if ok:
        assert check(doc).ok
    else:
        expect(doc, "questions_per_session:", "pulse.questions_per_session", "type")


def test_pulse_unknown_rotation() -> None:
    doc = full_document()
    doc["pulse"] = {"questions_per_session": 5, "rotation": "random"}
    expect(doc, "rotation: random", "pulse.rotation", "type")


# ---- YAML safety ----


def test_anchor_is_refused() -> None:
    text = to_yaml(full_document()).replace("thanks:", "thanks: &thanks", 1)
    error = only_error(text)
    assert (error.line, error.code) == (line_of(text, "&thanks"), "alias")


def test_alias_is_refused() -> None:
    text = to_yaml(full_document()) + "intro2: *thanks\n"
    result = check(text)
    assert result.script is None
    assert (line_of(text, "*thanks"), "", "alias") in located(result)


def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_without_being_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compose(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the document was composed")

    monkeypatch.setattr(source.yaml, "compose", no_compose)
    text = billion_laughs()
    result = check(text)
    assert result.script is None
    assert {e.code for e in result.errors} == {"alias"}
    # Every anchor and every alias is reported on its own line.
    anchors = [e for e in result.errors if "anchors" in e.message]
    aliases = [e for e in result.errors if "aliases" in e.message]
    assert [e.line for e in anchors] == list(range(1, 11))
    assert len(aliases) == 90
    assert all(e.line is not None and 2 <= e.line <= 10 for e in aliases)


# ---- bytes and YAML syntax ----


def test_binary_junk() -> None:
    error = only_error(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert (error.line, error.path, error.code) == (None, "", "binary")


def test_non_utf8_bytes_report_the_line_of_the_first_bad_byte() -> None:
    text = to_yaml(full_document())
    data = text.replace("Check-in [sl]", "Check-in caf\xe9 [sl]").encode("latin-1", "replace")
    # Non-Latin-1 characters (emoji) became "?" above; only the first bad byte matters.
    error = only_error(data)
    assert (error.line, error.path, error.code) == (line_of(text, "Check-in [sl]"), "", "encoding")


def test_non_utf8_line_after_a_byte_order_mark() -> None:
    data = b"\xef\xbb\xbf" + b"id: x\n\xff\n"
    error = only_error(data)
    assert (error.line, error.code) == (2, "encoding")


def test_byte_order_mark_is_accepted() -> None:
    assert check(b"\xef\xbb\xbf" + to_yaml(full_document()).encode()).ok


def test_text_with_unpaired_surrogate_is_an_encoding_error() -> None:
    error = only_error("id: x\ntitle: \ud800\n")
    assert (error.line, error.code) == (2, "encoding")


def test_control_character_is_located() -> None:
    error = only_error("id: x\naudience: staff\ntitle: a\x07b\n")
    assert (error.line, error.path) == (3, "")
    assert error.code == "syntax"


def test_duplicate_yaml_key() -> None:
    text = to_yaml(full_document()).replace(
        "audience: staff\n", "audience: staff\naudience: staff\n"
    )
    error = only_error(text)
    assert (error.line, error.path, error.code) == (
        line_of(text, "audience:", 2),
        "audience",
        "duplicate_key",
    )


def test_nested_duplicate_yaml_key() -> None:
    doc = full_document()
    text = re.sub(r"( *)en: Question safe\? \[en\]\n", r"\g<0>\1en: x\n", to_yaml(doc))
    error = only_error(text)
    assert (error.line, error.path, error.code) == (
        line_of(text, "en: x"),
        "sections[0].questions[2].text.en",
        "duplicate_key",
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("id: x\naudience: [staff\nlanguages: [en]\n", 3),
        ("id: x\n  bad: indent\n", 2),
        ("id: x\n\tfoo: 1\n", 2),
        ('id: x\ntitle: {en: "unterminated}\n', 3),
        ("id: x\n- item\n", 2),
    ],
)
def test_yaml_syntax_error_has_a_line(text: str, line: int) -> None:
    error = only_error(text)
    assert (error.line, error.path, error.code) == (line, "", "syntax")
    assert error.message.startswith("YAML")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_document(text: str) -> None:
    error = only_error(text)
    assert (error.line, error.path, error.code) == (1, "", "empty")


@pytest.mark.parametrize("text", ["- a\n- b\n", "hello\n", "42\n", "null\n", "[]\n"])
def test_document_that_is_not_a_mapping(text: str) -> None:
    error = only_error(text)
    assert (error.line, error.path, error.code) == (1, "", "invalid")


@pytest.mark.parametrize(
    "tagged", ["!!int abc", "!!float abc", "!!bool maybe", "!!timestamp soon", "!!int 0x", "!x y"]
)
def test_bad_tagged_scalar_is_located(tagged: str) -> None:
    doc = full_document()
    text = to_yaml(doc).replace("id: test-script", f"id: {tagged}")
    result = check(text)
    assert result.script is None
    assert (1, "id", "tag") in located(result)


def test_non_word_keys() -> None:
    text = to_yaml(full_document()) + "? [a, b]\n: x\n"
    result = check(text)
    assert (line_of(text, "? [a, b]"), "", "invalid") in located(result)


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_is_refused(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = "id: " + opener * 5000 + "1" + closer * 5000 + "\n"
    result = check(text)
    assert result.script is None
    assert [(e.line, e.code) for e in result.errors] == [(1, "nesting")]


def test_moderate_nesting_of_conditions_is_fine() -> None:
    doc = full_document()
    condition: Doc = {"question": "plan", "gte": 3}
    for _ in range(8):
        condition = {"not": {"all": [condition]}}
    q(doc, "comment")["show_if"] = condition
    assert check(doc).ok


# ---- many errors at once ----


def test_five_mistakes_give_five_located_errors() -> None:
    doc = full_document()
    doc["colour"] = "blue"  # unknown key
    del q(doc, "trust")["text"]["sl"]  # missing language
    q(doc, "when")["show_if"] = {"question": "comment", "answered": True}  # later question
    q(doc, "heard")["scale"] = "agree7"  # dangling scale
    doc["sections"][1]["id"] = "daily"  # duplicate section id
    text = to_yaml(doc)
    result = check(text)
    assert result.script is None
    expected = [
        (line_of(text, "colour: blue"), "colour", "unknown_key"),
        (line_of(text, "Question trust?") - 1, "sections[0].questions[1].text", "language"),
        (
            line_of(text, "question: comment"),
            "sections[0].questions[3].show_if.question",
            "reference",
        ),
        (line_of(text, "id: daily", 2), "sections[1].id", "duplicate_id"),
        (line_of(text, "scale: agree7"), "sections[1].questions[1].scale", "reference"),
    ]
    assert located(result) == sorted(expected)


def test_structure_and_rule_errors_come_together_sorted_by_line() -> None:
    doc = full_document()
    doc["sections"][1]["questions"][2]["max_length"] = "long"  # a type error, late
    doc["title"]["en"] = "t" * 500  # a rule error, early
    doc["scales"]["freq3"]["options"][0]["colour"] = "red"  # unknown key, in between
    result = check(doc)
    assert [e.code for e in result.errors] == ["long", "unknown_key", "type"]
    lines = [e.line for e in result.errors]
    assert all(isinstance(n, int) for n in lines)
    assert lines == sorted(lines)


def test_every_error_renders_with_file_line_and_path() -> None:
    doc = full_document()
    q(doc, "trust")["scale"] = "freq4"
    error = only_error(doc)
    assert str(error) == (
        f"script.yaml:{error.line}: sections[0].questions[1].scale: unknown scale 'freq4'"
    )


def test_rules_run_on_data_whose_structure_is_broken() -> None:
    doc = full_document()
    q(doc, "heard")["scale"] = ["not", "hashable"]
    q(doc, "comment")["show_if"] = {"question": ["x"], "eq": 1}
    doc["sections"][0]["questions"] = {"not": "a list"}
    doc["sections"][1]["questions"].append(nps_q("late", show_if={"question": {"a": 1}, "lt": 3}))
    result = check(doc)
    assert result.script is None
    paths = {e.path for e in result.errors}
    assert "sections[0].questions" in paths
    assert "sections[1].questions[1].scale" in paths
    assert "sections[1].questions[2].show_if.question" in paths


def test_choice_and_scale_helpers_build_what_the_model_expects() -> None:
    doc = document(
        [section("only", [choice_q("c"), scale_q("s"), nps_q("n"), text_q("t", 10)])],
        languages=["en"],
    )
    result = check(doc)
    assert result.ok
    assert result.script is not None
    assert result.script.title == tr("Check-in", ["en"])
    assert yaml.safe_load(to_yaml(doc)) == doc
