"""The change summary an admin sees before publishing a draft."""

from __future__ import annotations

import copy
from typing import Any

from dialogs.diff import Moved, Reworded, similarity, summarise
from dialogs.model import Script
from tests.scriptdocs import build, full_document, tr, yes_no_q

BASE = full_document(("en", "sl"))
ACTIVE = build(BASE)


def changed(change: Any) -> Script:
    doc = copy.deepcopy(BASE)
    change(doc)
    return build(doc)


def question(doc: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for s in doc["sections"] for q in s["questions"] if q["id"] == qid)


def test_the_same_script_has_no_changes() -> None:
    summary = summarise(ACTIVE, build(copy.deepcopy(BASE)))
    assert summary.unchanged
    assert summary.lines() == ["test-script: no changes against the active version"]


def test_a_new_script_is_all_added() -> None:
    summary = summarise(None, ACTIVE)
    assert summary.new_script and not summary.unchanged
    assert summary.added == tuple(q.id for q in ACTIVE.questions())
    assert summary.lines() == ["test-script: a new script with 8 questions"]


def test_added_removed_and_reworded_per_language() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["sections"][0]["questions"].append(yes_no_q("fresh"))
        doc["sections"][1]["questions"] = [
            q for q in doc["sections"][1]["questions"] if q["id"] != "heard"
        ]
        question(doc, "plan")["text"]["sl"] = "Drugače povedano [sl]"
        question(doc, "trust")["text"]["en"] = "Question trust, really? [en]"

    summary = summarise(ACTIVE, changed(change))
    assert summary.added == ("fresh",)
    assert summary.removed == ("heard",)
    assert summary.reworded == (
        Reworded("plan", ("sl",), None),
        Reworded(
            "trust",
            ("en",),
            round(similarity("Question trust? [en]", "Question trust, really? [en]"), 2),
        ),
    )
    assert summary.warnings == ()
    assert summary.lines() == [
        "test-script: changes against the active version",
        "1 question added: fresh",
        "1 question removed: heard",
        "2 questions reworded: plan (sl), trust (en)",
    ]


def test_a_new_meaning_under_an_old_id_is_warned_about() -> None:
    def change(doc: dict[str, Any]) -> None:
        question(doc, "safe")["text"] = tr("Do you get enough breaks during the day?")

    summary = summarise(ACTIVE, changed(change))
    (reworded,) = summary.reworded
    assert reworded.question_id == "safe" and reworded.similarity is not None
    assert reworded.similarity < 0.6
    (warning,) = summary.warnings
    assert warning.startswith("safe: the text changed a lot (")
    assert "a question whose meaning changes must get a new id" in warning
    assert summary.lines()[-1] == f"warning: {warning}"


def test_hints_follow_ups_and_option_labels_are_rewordings_too() -> None:
    def change(doc: dict[str, Any]) -> None:
        question(doc, "comment")["hint"]["en"] = "Optional, short"
        question(doc, "plan")["follow_up"]["text"]["sl"] = "Kaj bi pomagalo?"
        question(doc, "when")["options"][0]["label"]["en"] = "Most days"

    summary = summarise(ACTIVE, changed(change))
    assert [(r.question_id, r.languages) for r in summary.reworded] == [
        ("plan", ("sl",)),
        ("when", ("en",)),
        ("comment", ("en",)),
    ]
    assert summary.warnings == ()  # the question texts themselves are unchanged


def test_moves_between_sections_and_within_one() -> None:
    def change(doc: dict[str, Any]) -> None:
        daily, voice = doc["sections"]
        comment = voice["questions"].pop(2)
        daily["questions"].insert(0, comment)
        first = daily["questions"].pop(1)  # plan, now after the others
        daily["questions"].append(first)

    summary = summarise(ACTIVE, changed(change))
    assert summary.moved == (
        Moved("comment", "voice", "daily"),
        Moved("plan", "daily", "daily"),
    )
    assert "2 questions moved: comment (voice -> daily), plan (reordered in daily)" in (
        summary.lines()
    )


def test_languages_and_scales() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["scales"]["agree5"]["options"][0]["label"]["en"] = "Not at all"
        doc["scales"]["freq3"]["options"].append({"value": 4, "label": tr("always"), "emoji": "🔁"})

    summary = summarise(ACTIVE, changed(change))
    assert summary.scales_changed == ("agree5", "freq3")
    assert summary.answers_changed == ("trust",)  # the question on freq3
    assert any(w.startswith("scale freq3: its points changed") for w in summary.warnings)
    assert any(
        w.startswith("trust: its answers changed (scale freq3 1/2/3 ->") for w in summary.warnings
    )
    three = build(full_document(("en", "sl", "lt")))
    grown = summarise(ACTIVE, three)
    assert (grown.languages_added, grown.languages_removed) == (("lt",), ())
    shrunk = summarise(three, ACTIVE)
    assert (shrunk.languages_added, shrunk.languages_removed) == ((), ("lt",))
    assert "languages removed: lt" in shrunk.lines()


def test_a_changed_type_under_the_same_id_is_warned_about() -> None:
    def change(doc: dict[str, Any]) -> None:
        safe = question(doc, "safe")
        safe.update(type="scale", scale="agree5")
        safe["follow_up"]["show_if"] = {"lte": 2}
        question(doc, "when")["show_if"] = {"question": "safe", "gte": 4}

    summary = summarise(ACTIVE, changed(change))
    assert summary.answers_changed == ("safe",)
    assert summary.logic_changed == ("safe", "when")
    assert any(
        w == "safe: its answers changed (yes_no -> scale agree5 1/2/3/4/5); give it a new id "
        "so old and new answers are not mixed"
        for w in summary.warnings
    )


def test_settings_sections_and_framework_items() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["audience"] = "service_user"
        question(doc, "plan").pop("required")
        doc["sections"][0]["title"] = tr("Everyday life")
        doc["sections"][1]["maps_to"] = {"equass": ["rights"]}
        doc["pulse"] = {"questions_per_session": 3, "rotation": "none"}

    summary = summarise(ACTIVE, changed(change))
    assert summary.settings_changed == ("audience", "pulse")
    assert summary.sections_changed == ("daily", "voice")
    assert summary.remapped == ("heard", "comment")  # recommend maps itself
    assert summary.logic_changed == ("plan",)
    assert "the audience changes from staff to service_user" in summary.warnings


def test_small_details_are_not_lost() -> None:
    def change(doc: dict[str, Any]) -> None:
        question(doc, "when")["options"][0]["emoji"] = "🌞"

    summary = summarise(ACTIVE, changed(change))
    assert not summary.unchanged
    assert summary.settings_changed == ("other details",)
