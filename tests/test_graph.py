"""Mermaid diagrams: the engine's own machine, and the flow of the questions."""

from __future__ import annotations

from dialogs.engine import DialogEngine
from dialogs.graph import diagrams, flow_diagram, state_diagram
from tests.scriptdocs import build, document, full_document, scale_q, section, tr, yes_no_q

FULL = build(full_document())


def edges(diagram: str) -> set[str]:
    return {line.strip() for line in diagram.splitlines() if "-->" in line or "-.->" in line}


def test_the_state_diagram_is_the_engines_machine() -> None:
    diagram = state_diagram(FULL)
    assert diagram.startswith("stateDiagram-v2\n")
    assert edges(diagram) == {
        "[*] --> asking",
        "asking --> follow_up: answer [follow_up_due] | back [back_to_follow_up]",
        "asking --> done: answer [at_end] | skip [at_end]",
        "asking --> asking: answer | skip | back",
        "follow_up --> done: answer [at_end] | skip [at_end]",
        "follow_up --> asking: answer | skip | back",
        "follow_up --> follow_up: back [back_to_follow_up]",
        "asking --> paused: pause",
        "follow_up --> paused: pause",
        "paused --> follow_up: resume [resume_to_follow_up]",
        "paused --> asking: resume",
        "done --> [*]",
    }
    # every event of the machine is drawn
    machine = DialogEngine(FULL).machine
    for event in machine.events:
        assert f" {event}" in diagram


def test_a_script_without_follow_ups_has_no_follow_up_state() -> None:
    script = build(document([section("s", [yes_no_q("q1"), yes_no_q("q2")])]))
    diagram = state_diagram(script)
    assert "follow_up" not in diagram
    assert "paused --> asking: resume" in diagram


def test_the_flow_shows_sections_order_and_conditions() -> None:
    diagram = flow_diagram(FULL)
    assert diagram.startswith("flowchart TD\n")
    assert 'subgraph s0["Daily life [en]"]' in diagram
    assert 'subgraph s1["voice"]' in diagram  # no title: the id
    assert 'q0["plan: Question plan? [en]"]' in diagram
    flow = edges(diagram)
    assert {"start --> q0", "q0 --> q1", "q6 --> q7", "q7 --> finish"} <= flow
    assert 'q2 -.->|"show if safe = yes"| q3' in flow
    assert 'q4 -.->|"show if help contains outings"| q6' in flow
    assert 'q0 -.->|"answer #lt;= 2"| q0f' in flow
    assert "q0f --> q1" in flow


def test_labels_are_escaped_and_shortened() -> None:
    doc = document(
        [
            section(
                "s",
                [
                    scale_q("q1"),
                    yes_no_q("q2", show_if={"question": "q1", "in": [1, 2]}),
                ],
                title={"en": 'The "quoted" <b>section</b> #1', "sl": "x"},
            )
        ]
    )
    doc["sections"][0]["questions"][0]["text"] = tr("A " + "very " * 20 + "long question")
    diagram = flow_diagram(build(doc))
    assert 'subgraph s0["The #quot;quoted#quot; #lt;b#gt;section#lt;/b#gt; #35;1"]' in diagram
    assert 'q0["q1: A very very very very very very very very very…"]' in diagram
    assert 'q0 -.->|"show if q1 in (1, 2)"| q1' in diagram


def test_the_flow_is_drawn_in_the_asked_language() -> None:
    diagram = flow_diagram(FULL, "sl")
    assert 'q0["plan: Question plan? [sl]"]' in diagram
    assert 'q0["plan: Question plan? [en]"]' in flow_diagram(FULL, "de")  # not in the script


def test_both_diagrams_as_markdown() -> None:
    text = diagrams(FULL)
    assert text.count("```mermaid\n") == 2
    assert text.count("\n```\n") == 2
    assert "stateDiagram-v2" in text and "flowchart TD" in text
