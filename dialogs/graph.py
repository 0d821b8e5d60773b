"""Mermaid diagrams of a script: its engine's state machine, and the flow of its questions.

The state diagram is drawn from the very `transitions` machine the engine
builds for the script (a script without follow-ups has no follow-up state), so
it cannot drift from what runs. The flow diagram shows sections, questions in
order, and the `show_if` and follow-up conditions that bend the path.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from dialogs.condition_text import format_condition
from dialogs.conditions import referenced_questions
from dialogs.engine import DialogEngine
from dialogs.model import Script

_ESCAPES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "\n": " "}
_TEXT_CHARS = 48


def state_diagram(script: Script) -> str:
    """stateDiagram-v2 of the engine's phases: asking, follow_up, paused, done."""
    machine = DialogEngine(script).machine
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                dest = transition.dest or source
                guards = [c.func for c in transition.conditions if isinstance(c.func, str)]
                label = f"{name} [{', '.join(guards)}]" if guards else name
                edges[(source, dest)].append(label)
    lines = ["stateDiagram-v2", f"  %% {script.id}: the phases of one session"]
    lines.append(f"  [*] --> {machine.initial}")
    for (source, dest), labels in edges.items():
        lines.append(f"  {source} --> {dest}: {' | '.join(labels)}")
    lines.append("  done --> [*]")
    return "\n".join(lines) + "\n"


def flow_diagram(script: Script, language: str = "en") -> str:
    """flowchart of the question bank: sections, order, show_if and follow-up edges."""
    lang = language if language in script.languages else script.languages[0]
    node = {q.id: f"q{i}" for i, q in enumerate(script.questions())}
    lines = ["flowchart TD", f"  %% {script.id}: questions in order; dotted edges are conditions"]
    if script.pulse.rotation == "cover-all":
        per = script.pulse.questions_per_session
        lines.append(f"  %% each session asks {per} of these, rotating through all of them")
    lines.append("  start([start])")
    for s, section in enumerate(script.sections):
        title = (section.title or {}).get(lang) or section.id
        lines.append(f'  subgraph s{s}["{_escape(title)}"]')
        for q in section.questions:
            text = _short(q.text.get(lang) or next(iter(q.text.values())))
            lines.append(f'    {node[q.id]}["{_escape(q.id)}: {_escape(text)}"]')
            if q.follow_up is not None:
                lines.append(f'    {node[q.id]}f(["{_escape(q.id)}: comment"])')
        lines.append("  end")
    lines.append("  finish([thanks])")
    order = ["start", *node.values(), "finish"]
    for a, b in pairwise(order):
        lines.append(f"  {a} --> {b}")
    for q in script.questions():
        if q.show_if is not None:
            label = _escape(f"show if {format_condition(q.show_if)}")
            for ref in dict.fromkeys(referenced_questions(q.show_if)):
                if ref in node:
                    lines.append(f'  {node[ref]} -.->|"{label}"| {node[q.id]}')
        if q.follow_up is not None:
            label = _escape(format_condition(q.follow_up.show_if, follow_up=True))
            lines.append(f'  {node[q.id]} -.->|"{label}"| {node[q.id]}f')
            lines.append(f"  {node[q.id]}f --> {order[order.index(node[q.id]) + 1]}")
    return "\n".join(lines) + "\n"


def diagrams(script: Script, language: str = "en") -> str:
    """Both diagrams as fenced Markdown blocks, ready to paste where Mermaid renders."""
    machine, flow = state_diagram(script), flow_diagram(script, language)
    return f"```mermaid\n{machine}```\n\n```mermaid\n{flow}```\n"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1].rstrip() + "…"


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)
