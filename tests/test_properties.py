"""Properties over random scripts, random step sequences and random (broken) documents.

The engine: only `DialogError`s escape, a refused step changes nothing, the session
restores from its JSON to an identical state at every point, `screen()` always works
with 1 <= number <= total, answers never belong to hidden questions, and a finished
session refuses every further step.

The validator: whatever the input (valid, mutated, junk, random bytes or text), it
returns; errors carry a line (or None) and a path, sorted by line; a mutation is
reported with the code it must produce; every random valid document passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.engine import DialogEngine, Session
from dialogs.rotation import plan_session
from dialogs.source import LineMap
from dialogs.step_errors import DialogError, SessionFinished
from dialogs.validate import Validation, validate_document, validate_source
from tests.scriptdocs import (
    ALPHABET,
    STUB,
    Doc,
    build,
    documents,
    full_document,
    junk_documents,
    mutated_documents,
    to_yaml,
)

pytestmark = pytest.mark.slow  # a long suite: `pytest -m 'not slow'` leaves it out

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What YAML counts as a line break, which the lines of its errors follow.
YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
ACTIONS = (
    *["answer"] * 6,
    *["skip", "back", "toggle", "restore"] * 2,
    "pause",
    "resume",
)


# ---- the engine ----


def valid_input(data: st.DataObject, engine: DialogEngine, session: Session) -> Any:
    """An input the current screen accepts."""
    question = session.screen().question
    assert question is not None
    values = [str(o.value) for o in engine.options(question)]
    if session.state == "follow_up":
        assert question.follow_up is not None
        return data.draw(st.text(ALPHABET, max_size=question.follow_up.max_length))
    if question.type == "text":
        limit = question.max_length or 50
        return data.draw(st.text(ALPHABET, max_size=limit - 1).map("x{}".format))
    if question.type == "multi":
        # Confirming no option is a skip, which a required question refuses.
        return data.draw(st.lists(st.sampled_from(values), min_size=int(question.required)))
    if question.type == "nps":
        return data.draw(st.integers(0, 10))
    if question.type == "yes_no":
        return data.draw(st.sampled_from(["yes", "no", "unsure"]))
    return data.draw(st.sampled_from(values))


def any_input(data: st.DataObject, engine: DialogEngine, session: Session) -> Any:
    """Mostly a valid input, sometimes one of the kinds of wrong one."""
    if session.state in ("asking", "follow_up") and data.draw(st.integers(0, 3)) > 0:
        return valid_input(data, engine, session)
    question = session.screen().question
    values = [str(o.value) for o in engine.options(question)] if question is not None else []
    plausible: list[Any] = ["na", "yes", "no", "unsure", "", "  ", None, 0, 5, 10, 11, -1]
    plausible += [*values, list(session.draft)]
    return data.draw(
        st.one_of(
            st.sampled_from(plausible),
            st.lists(st.sampled_from([*values, "ghost"]), max_size=4),
            st.integers(-3, 13),
            st.text(max_size=60),
            st.text(alphabet="ab ", min_size=490, max_size=2100),
        )
    )


def step_arguments(data: st.DataObject, session: Session) -> dict[str, Any]:
    screen = session.screen()
    kind = data.draw(
        st.sampled_from(["none", "none", "none", "step", "step", "stale_step", "qid", "other_qid"])
    )
    if kind == "step":
        return {"step": screen.step}
    if kind == "stale_step":
        return {"step": screen.step - data.draw(st.integers(1, 3))}
    if kind in ("qid", "other_qid") and screen.question is not None:
        if kind == "qid":
            return {"question_id": screen.question.id}
        return {"question_id": data.draw(st.sampled_from([*session.plan, "ghost"]))}
    return {}


def check_sound(engine: DialogEngine, session: Session) -> None:
    screen = session.screen()
    assert screen.phase == session.state
    visible = [i for i in range(len(session.plan)) if session._visible(i)]
    assert screen.total == len(visible)
    if session.finished:
        assert screen.question is None
        assert screen.number == screen.total
    else:
        assert 1 <= screen.number <= screen.total
        assert screen.question is not None
        assert screen.question.id == session.plan[session.pos]
        assert session.pos in visible, "the current question is hidden"
        assert screen.can_back == bool(session.history)
    positions = {qid: i for i, qid in enumerate(session.plan)}
    for qid, answer in session.answers.items():
        assert positions[qid] in visible, f"{qid} is answered but hidden"
        assert answer.question_id == qid
        assert answer.score is None or 1.0 <= answer.score <= 5.0
    saved = session.to_json()
    restored = engine.restore(saved)
    assert restored.to_json() == saved
    assert restored.screen() == screen


def check_finished_refuses(session: Session) -> None:
    saved = session.to_json()
    steps: list[Callable[[], object]] = [
        lambda: session.answer("1"),
        lambda: session.skip(),
        lambda: session.back(),
        lambda: session.pause(),
        lambda: session.resume(),
        lambda: session.toggle("x"),
    ]
    for step in steps:
        try:
            step()
        except SessionFinished:
            pass
        else:
            raise AssertionError("a finished session took a step")
    assert session.to_json() == saved


def apply(data: st.DataObject, engine: DialogEngine, session: Session, action: str) -> Session:
    if action == "answer":
        raw = any_input(data, engine, session)
        session.answer(raw, **step_arguments(data, session))
    elif action == "skip":
        session.skip(**step_arguments(data, session))
    elif action == "back":
        args = step_arguments(data, session)
        session.back(step=args.get("step"))
    elif action == "pause":
        args = step_arguments(data, session)
        session.pause(step=args.get("step"))
    elif action == "resume":
        session.resume()
    elif action == "toggle":
        question = session.screen().question
        values = [str(o.value) for o in engine.options(question)] if question else []
        value = data.draw(st.sampled_from([*values, "ghost"]))
        session.toggle(value, step=step_arguments(data, session).get("step"))
    elif action == "restore":
        return engine.restore(session.to_json())
    return session


@st.composite
def plans(draw: st.DrawFn, engine: DialogEngine) -> list[str] | None:
    ids = list(engine.questions)
    kind = draw(st.sampled_from(["all", "rotation", "subset"]))
    if kind == "all":
        return None
    if kind == "rotation":
        cycle = draw(st.integers(0, 3))
        asked = frozenset(draw(st.lists(st.sampled_from(ids), max_size=len(ids))))
        chosen = plan_session(engine.script, cycle=cycle, asked=asked, seed=draw(st.text()))
        return list(chosen.question_ids)
    keep = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    subset = [qid for qid, k in zip(ids, keep, strict=True) if k]
    return subset or ids[:1]


@SETTINGS
@given(doc=documents(max_questions=8), data=st.data())
def test_random_steps_keep_the_session_sound(doc: Doc, data: st.DataObject) -> None:
    engine = DialogEngine(build(doc))
    session = engine.start(data.draw(plans(engine)))
    check_sound(engine, session)
    for _ in range(data.draw(st.integers(1, 40))):
        if session.finished:
            check_finished_refuses(session)
            break
        action = data.draw(st.sampled_from(ACTIONS))
        before = session.to_json()
        step_before = session.step
        try:
            session = apply(data, engine, session, action)
        except DialogError:
            assert session.to_json() == before, f"a refused {action} changed the session"
        else:
            if action not in ("restore", "resume"):
                assert session.step == step_before + 1
        check_sound(engine, session)


@SETTINGS
@given(doc=documents(max_questions=8), data=st.data())
def test_answering_everything_finishes(doc: Doc, data: st.DataObject) -> None:
    """Valid answers, restored from JSON after each, end the session within two steps a question."""
    engine = DialogEngine(build(doc))
    session = engine.start()
    for _ in range(2 * len(engine.questions)):
        if session.finished:
            break
        session.answer(valid_input(data, engine, session))
        session = engine.restore(session.to_json())
    assert session.finished
    check_finished_refuses(session)
    assert session.screen().number == session.screen().total


# ---- the validator ----


def check_errors(result: Validation, text: str | bytes | None = None) -> None:
    assert isinstance(result.errors, list)
    if result.errors:
        assert result.script is None
    for error in result.errors:
        assert error.line is None or (isinstance(error.line, int) and error.line >= 1)
        assert isinstance(error.path, str)
        assert isinstance(error.message, str) and error.message
        assert isinstance(error.code, str) and error.code
        if isinstance(text, str) and isinstance(error.line, int):
            assert error.line <= len(YAML_LINE_BREAK.findall(text)) + 1
    lines = [e.line or 0 for e in result.errors]
    assert lines == sorted(lines)  # type: ignore[type-var]


@SETTINGS
@given(documents())
def test_random_valid_documents_pass(doc: Doc) -> None:
    text = to_yaml(doc)
    result = validate_source(text, "random.yaml", STUB)
    assert result.errors == []
    assert result.script is not None
    count = sum(len(s["questions"]) for s in doc["sections"])
    assert len(result.script.questions()) == count


@SETTINGS
@given(mutated_documents())
def test_mutated_documents_are_refused_with_the_right_code(pair: tuple[Doc, str]) -> None:
    doc, code = pair
    text = to_yaml(doc)
    result = validate_source(text, "mutated.yaml", STUB)
    check_errors(result, text)
    assert result.script is None
    assert code in {e.code for e in result.errors}, [str(e) for e in result.errors]
    assert all(e.line is not None for e in result.errors if e.code == code)


@SETTINGS
@given(junk_documents())
def test_junk_anywhere_never_raises(doc: Doc) -> None:
    check_errors(validate_document(doc, "junk", LineMap(), STUB))
    text = to_yaml(doc)
    check_errors(validate_source(text, "junk.yaml", STUB), text)


@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    check_errors(validate_source(data, "bytes.yaml", STUB))


@SETTINGS
@given(st.text(max_size=500))
def test_random_text_never_raises(text: str) -> None:
    check_errors(validate_source(text, "text.yaml", STUB), text)


YAML_NOISE = st.text(alphabet=":-[]{}&*!|>'\"#%@`?,\t\n x1", min_size=1, max_size=6)
VALID_TEXT = to_yaml(full_document())


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, len(VALID_TEXT)), st.integers(0, 8), YAML_NOISE), max_size=4)
)
def test_edited_yaml_never_raises(edits: list[tuple[int, int, str]]) -> None:
    text = VALID_TEXT
    for at, cut, noise in edits:
        text = text[:at] + noise + text[at + cut :]
    check_errors(validate_source(text, "edited.yaml", STUB), text)
