"""CPU time per applied answer in the dialog engine, on a staff-pulse-sized script.

    python bench/engine_bench.py [--answers 20000] [--repeats 3]

The script has 40 scale questions (1-5 with "not applicable") in ten sections,
each with a follow-up comment when the answer is 2 or lower, in five languages.
Sessions walk all 40 questions with a fixed mix of answers (about a third start
a follow-up, which is answered too); every call to `Session.answer` that is
applied counts as one answer. Sessions are started and inputs prepared outside
the timed loops. Each case runs `--repeats` times and the fastest run is shown.

Cases:
- answer: the bare `Session.answer` path;
- answer + to_json: each answer followed by serialising the session, as storage does;
- restore + answer: each answer applied to a session restored from the JSON saved
  after the previous one, as a handler that keeps no session in memory does, and
  the restore alone;
- add_model + remove_model: what attaching a session to a `transitions` machine
  and detaching it again would cost per update, for comparison with triggering
  the machine's events on a model that is never attached (what the engine does).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialogs.engine import DialogEngine, Session, build_machine
from dialogs.model import LANGUAGES, Script
from dialogs.rotation import plan_session

TARGET_MS = 0.05
QUESTIONS = 40
# Answers cycle through this mix; 1 and 2 start a follow-up, which gets a comment.
VALUES = ["4", "5", "2", "3", "na", "1", "4", "5", "3", "2", "4"]
COMMENT = "More time for each person would help; the rota is too tight on weekends."


def text(words: str) -> dict[str, str]:
    return {lang: f"{words} ({lang})" for lang in LANGUAGES}


def pulse_script() -> Script:
    agree5 = {
        "options": [
            {"value": v, "emoji": e, "label": text(f"point {v}")}
            for v, e in zip(range(1, 6), ["😞", "🙁", "😐", "🙂", "😀"], strict=True)
        ],
        "not_applicable": text("Don't know / not applicable"),
    }
    sections = []
    for s in range(10):
        questions = [
            {
                "id": f"p{s}_{i}",
                "type": "scale",
                "scale": "agree5",
                "text": text(f"Statement {s}.{i} about the quality of our service."),
                "follow_up": {"show_if": {"lte": 2}, "text": text("What would help?")},
            }
            for i in range(QUESTIONS // 10)
        ]
        sections.append(
            {
                "id": f"principle{s}",
                "title": text(f"Principle {s}"),
                "maps_to": {"equass": ["staff"]},
                "questions": questions,
            }
        )
    return Script.model_validate(
        {
            "id": "bench-pulse",
            "audience": "staff",
            "languages": list(LANGUAGES),
            "title": text("Weekly quality check-in"),
            "thanks": text("Thank you"),
            "pulse": {"questions_per_session": 5, "rotation": "cover-all"},
            "scales": {"agree5": agree5},
            "sections": sections,
        }
    )


Plan = tuple[str, ...] | None
_INPUTS: dict[tuple[Plan, int], list[str]] = {}


def inputs_for(engine: DialogEngine, plan: Plan, offset: int) -> list[str]:
    """The inputs that take one session through its plan, follow-ups included."""
    key = (plan, offset % len(VALUES))
    if key not in _INPUTS:
        _INPUTS[key] = _walk(engine, plan, offset)
    return _INPUTS[key]


def _walk(engine: DialogEngine, plan: Plan, offset: int) -> list[str]:
    session = engine.start(plan)
    inputs: list[str] = []
    i = offset
    while not session.finished:
        raw = COMMENT if session.state == "follow_up" else VALUES[i % len(VALUES)]
        if session.state != "follow_up":
            i += 1
        session.answer(raw)
        inputs.append(raw)
    return inputs


def pulse_plans(script: Script, respondents: int = 4) -> list[Plan]:
    """Five-question sessions as the cover-all rotation deals them, two cycles each."""
    plans: list[Plan] = []
    for person in range(respondents):
        cycle, asked = 0, frozenset[str]()
        for _ in range(16):
            plan = plan_session(script, cycle=cycle, asked=asked, seed=f"person-{person}")
            plans.append(plan.question_ids)
            cycle, asked = plan.cycle, plan.asked_in_cycle
    return plans


def prepare(
    engine: DialogEngine, answers: int, plans: list[Plan]
) -> list[tuple[Session, list[str]]]:
    """Fresh sessions and their inputs, enough for `answers` applied answers."""
    runs: list[tuple[Session, list[str]]] = []
    total = 0
    k = 0
    while total < answers:
        plan = plans[k % len(plans)]
        inputs = inputs_for(engine, plan, k)
        runs.append((engine.start(plan), inputs))
        total += len(inputs)
        k += 1
    return runs


def bare_answers(engine: DialogEngine, answers: int, plans: list[Plan]) -> tuple[int, float]:
    runs = prepare(engine, answers, plans)
    count = sum(len(inputs) for _, inputs in runs)
    started = time.process_time()
    for session, inputs in runs:
        for raw in inputs:
            session.answer(raw)
    elapsed = time.process_time() - started
    assert all(session.finished for session, _ in runs)
    return count, elapsed


def answers_with_json(engine: DialogEngine, answers: int, plans: list[Plan]) -> tuple[int, float]:
    runs = prepare(engine, answers, plans)
    count = sum(len(inputs) for _, inputs in runs)
    saved = ""
    started = time.process_time()
    for session, inputs in runs:
        for raw in inputs:
            session.answer(raw)
            saved = session.to_json()
    elapsed = time.process_time() - started
    assert '"state":"done"' in saved
    return count, elapsed


def restored_answers(engine: DialogEngine, answers: int, plans: list[Plan]) -> tuple[int, float]:
    runs = prepare(engine, answers, plans)
    steps: list[tuple[str, str]] = []
    for session, inputs in runs:
        for raw in inputs:
            steps.append((session.to_json(), raw))
            session.answer(raw)
    finished = 0
    started = time.process_time()
    for saved, raw in steps:
        finished += engine.restore(saved).answer(raw).finished
    elapsed = time.process_time() - started
    assert finished == len(runs), "every restored session reaches its end once"
    return len(steps), elapsed


def restores(engine: DialogEngine, answers: int, plans: list[Plan]) -> tuple[int, float]:
    saved = []
    for session, inputs in prepare(engine, answers, plans):
        for raw in inputs:
            saved.append(session.to_json())
            session.answer(raw)
    started = time.process_time()
    for state in saved:
        engine.restore(state)
    elapsed = time.process_time() - started
    return len(saved), elapsed


class Model:
    """A bare model for `Machine.add_model`."""

    state: str


def add_remove_model(engine: DialogEngine, operations: int, plans: list[Plan]) -> tuple[int, float]:
    machine = build_machine(engine.has_follow_ups)
    models = [Model() for _ in range(operations)]
    started = time.process_time()
    for model in models:
        machine.add_model(model)
        machine.remove_model(model)
    elapsed = time.process_time() - started
    assert machine.models == []
    return operations, elapsed


def trigger_unattached(
    engine: DialogEngine, operations: int, plans: list[Plan]
) -> tuple[int, float]:
    """One machine event on a model that is never attached: the engine's own path."""
    machine = engine.machine
    pause, resume = machine.events["pause"], machine.events["resume"]
    session = engine.start()
    started = time.process_time()
    for _ in range(operations // 2):
        pause.trigger(session)
        resume.trigger(session)
    elapsed = time.process_time() - started
    assert session.state == "asking"
    return operations // 2 * 2, elapsed


Case = Callable[[DialogEngine, int, list[Plan]], tuple[int, float]]


def best(case: Case, engine: DialogEngine, answers: int, plans: list[Plan], repeats: int) -> float:
    """The lowest CPU milliseconds per operation over `repeats` runs."""
    results = [case(engine, answers, plans) for _ in range(repeats)]
    return min(seconds / count for count, seconds in results) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    script = pulse_script()
    started = time.process_time()
    engine = DialogEngine(script)
    build_ms = (time.process_time() - started) * 1000
    whole: list[Plan] = [None]
    pulses = pulse_plans(script)
    per_pass = len(inputs_for(engine, None, 0))
    per_pulse = sum(len(inputs_for(engine, p, i)) for i, p in enumerate(pulses)) / len(pulses)
    print(
        f"script: {len(script.questions())} scale questions with follow-ups; engine built in "
        f"{build_ms:.1f} ms CPU\n"
        f"whole script: {per_pass} answers a session; pulse: 5 questions, "
        f"{per_pulse:.1f} answers a session on average"
    )
    bare_answers(engine, 2_000, whole)  # warm up

    cases: list[tuple[str, Case, bool]] = [
        ("answer", bare_answers, True),
        ("answer + to_json", answers_with_json, True),
        ("restore + answer", restored_answers, True),
        ("restore alone", restores, False),
    ]
    print()
    print(f"CPU ms per operation; target {TARGET_MS} ms per applied answer")
    print(f"{'case':<30} {'whole script':>13} {'pulse':>8}")
    for name, case, has_target in cases:
        row = [best(case, engine, args.answers, plans, args.repeats) for plans in (whole, pulses)]
        marks = ["" if not has_target else (" ok" if ms <= TARGET_MS else " OVER") for ms in row]
        print(f"{name:<30} {row[0]:>8.4f}{marks[0]:<5} {row[1]:>8.4f}{marks[1]}")
    for name, case in (
        ("event on an unattached model", trigger_unattached),
        ("add_model + remove_model", add_remove_model),
    ):
        per_op = best(case, engine, args.answers, whole, args.repeats)
        print(f"{name:<30} {per_op:>8.4f}")


if __name__ == "__main__":
    main()
