"""The dialog engine: answer parsing, every step, progress, and saving and restoring sessions.

The script is `full_document()`: plan (scale 1-5 with "not applicable", required,
follow-up when <= 2), trust (scale 1-3), safe (yes/no, follow-up when "no"), when
(choice, shown when safe is "yes"), help (multi), recommend (nps, follow-up when
<= 6), heard (scale, shown when help contains "outings"), comment (text, <= 50).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialogs import limits
from dialogs.engine import Answer, Change, DialogEngine, Session
from dialogs.step_errors import (
    CannotGoBack,
    CorruptState,
    DialogError,
    InvalidAnswer,
    NotSkippable,
    SessionFinished,
    SessionPaused,
    StaleQuestion,
)
from tests.scriptdocs import (
    build,
    document,
    follow_up,
    full_document,
    scale,
    scale_q,
    section,
    text_q,
    yes_no_q,
)

ORDER = ["plan", "trust", "safe", "when", "help", "recommend", "heard", "comment"]


@pytest.fixture(scope="module")
def engine() -> DialogEngine:
    return DialogEngine(build(full_document()))


@pytest.fixture
def session(engine: DialogEngine) -> Session:
    return engine.start()


def current(session: Session) -> str | None:
    question = session.screen().question
    return question.id if question is not None else None


def where(session: Session) -> tuple[str, str | None]:
    return session.state, current(session)


def parse(engine: DialogEngine, qid: str, raw: object) -> Answer:
    return engine.parse(engine.questions[qid], raw)


def refused(engine: DialogEngine, qid: str, raw: object) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as caught:
        parse(engine, qid, raw)
    return caught.value


# Answers that start no follow-up and hide nothing.
HARMLESS: dict[str, object] = {
    "plan": "4",
    "trust": "2",
    "safe": "yes",
    "when": "often",
    "help": ["meals", "outings"],
    "recommend": "9",
    "heard": "5",
    "comment": "fine",
}


def walk_to(session: Session, target: str) -> None:
    """Answer harmlessly until `target` is the current question."""
    while current(session) != target:
        qid = current(session)
        assert qid is not None, f"finished before reaching {target}"
        session.answer(HARMLESS[qid])


# ---- parsing each type ----


@pytest.mark.parametrize(("raw", "value"), [("1", 1), ("3", 3), ("5", 5), (" 4 ", 4), (2, 2)])
def test_scale_answer(engine: DialogEngine, raw: object, value: int) -> None:
    answer = parse(engine, "plan", raw)
    assert (answer.value, answer.score, answer.not_applicable) == (value, float(value), False)


@pytest.mark.parametrize("raw", ["0", "6", "-1", "100"])
def test_scale_out_of_range(engine: DialogEngine, raw: str) -> None:
    error = refused(engine, "plan", raw)
    assert error.code == "out_of_range"
    assert error.params == {"low": 1, "high": 5}


@pytest.mark.parametrize("raw", ["abc", "", "3.5", "three", None])
def test_scale_not_a_number(engine: DialogEngine, raw: object) -> None:
    assert refused(engine, "plan", raw).code == "not_a_number"


@pytest.mark.parametrize("raw", ["na", "NA", " Na "])
def test_not_applicable_where_the_scale_offers_it(engine: DialogEngine, raw: str) -> None:
    answer = parse(engine, "plan", raw)
    assert (answer.value, answer.score, answer.not_applicable) == (None, None, True)


def test_not_applicable_where_the_scale_lacks_it(engine: DialogEngine) -> None:
    assert refused(engine, "trust", "na").code == "not_an_option"


@pytest.mark.parametrize(("raw", "score"), [("1", 1.0), ("2", 3.0), ("3", 5.0)])
def test_three_point_scale_maps_onto_one_to_five(
    engine: DialogEngine, raw: str, score: float
) -> None:
    assert parse(engine, "trust", raw).score == score


def test_zero_based_scale_maps_onto_one_to_five() -> None:
    doc = document([section("s", [scale_q("q", "zero")])], scales={"zero": scale((0, 1, 2, 3, 4))})
    engine = DialogEngine(build(doc))
    assert [parse(engine, "q", str(v)).score for v in range(5)] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_explicit_option_scores_win() -> None:
    doc = document(
        [section("s", [scale_q("q", "odd")])],
        scales={"odd": scale((1, 2, 3), scores=(5, 3, 1))},
    )
    engine = DialogEngine(build(doc))
    assert [parse(engine, "q", v).score for v in ("1", "2", "3")] == [5.0, 3.0, 1.0]


@pytest.mark.parametrize(
    ("raw", "value", "score"),
    [("yes", "yes", 5.0), ("no", "no", 1.0), ("unsure", "unsure", None), (" YES ", "yes", 5.0)],
)
def test_yes_no_unsure(engine: DialogEngine, raw: str, value: str, score: float | None) -> None:
    answer = parse(engine, "safe", raw)
    assert (answer.value, answer.score) == (value, score)


@pytest.mark.parametrize("raw", ["maybe", "", "y", "1", None])
def test_yes_no_refuses_anything_else(engine: DialogEngine, raw: object) -> None:
    assert refused(engine, "safe", raw).code == "not_an_option"


def test_choice(engine: DialogEngine) -> None:
    answer = parse(engine, "when", "sometimes")
    assert (answer.value, answer.score) == ("sometimes", None)
    error = refused(engine, "when", "always")
    assert (error.code, error.params) == ("not_an_option", {"value": "always"})


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (["outings", "meals"], ["meals", "outings"]),
        (["cleaning", "cleaning"], ["cleaning"]),
        ("meals", ["meals"]),
        (("meals", "cleaning", "outings"), ["meals", "cleaning", "outings"]),
    ],
)
def test_multi_keeps_script_order_without_repeats(
    engine: DialogEngine, raw: object, value: list[str]
) -> None:
    assert parse(engine, "help", raw).value == value


def test_confirming_no_option_is_a_skip_unless_required(engine: DialogEngine) -> None:
    answer = parse(engine, "help", [])
    assert answer.skipped and answer.value is None
    question = engine.questions["help"].model_copy(update={"required": True})
    with pytest.raises(NotSkippable):
        engine.parse(question, [])


def test_multi_refuses_an_unknown_option(engine: DialogEngine) -> None:
    error = refused(engine, "help", ["meals", "gardening"])
    assert (error.code, error.params) == ("not_an_option", {"value": "gardening"})


def test_text(engine: DialogEngine) -> None:
    assert parse(engine, "comment", "  all good  ").value == "all good"
    assert parse(engine, "comment", "x" * 50).value == "x" * 50
    error = refused(engine, "comment", "x" * 51)
    assert (error.code, error.params) == ("too_long", {"limit": 50})


@pytest.mark.parametrize("raw", ["", "   ", "\n", None])
def test_text_refuses_empty(engine: DialogEngine, raw: object) -> None:
    assert refused(engine, "comment", raw).code == "empty"


def test_text_without_max_length_has_the_default_limit() -> None:
    engine = DialogEngine(build(document([section("s", [text_q("free")])])))
    limit = limits.DEFAULT_TEXT_ANSWER_CHARS
    assert parse(engine, "free", "x" * limit).value == "x" * limit
    assert refused(engine, "free", "x" * (limit + 1)).params == {"limit": limit}


@pytest.mark.parametrize(("raw", "score"), [("0", 1.0), ("5", 3.0), ("10", 5.0), (" 7 ", 3.8)])
def test_nps(engine: DialogEngine, raw: str, score: float) -> None:
    answer = parse(engine, "recommend", raw)
    assert (answer.value, answer.score) == (int(raw), score)


@pytest.mark.parametrize("raw", ["-1", "11", "1000"])
def test_nps_bounds(engine: DialogEngine, raw: str) -> None:
    error = refused(engine, "recommend", raw)
    assert (error.code, error.params) == ("out_of_range", {"low": 0, "high": 10})


@pytest.mark.parametrize("raw", ["x", "", "9.5", "na"])
def test_nps_not_a_number(engine: DialogEngine, raw: str) -> None:
    assert refused(engine, "recommend", raw).code == "not_a_number"


def test_every_score_is_on_the_one_to_five_scale(engine: DialogEngine) -> None:
    samples = {
        "plan": ["1", "2", "3", "4", "5"],
        "trust": ["1", "2", "3"],
        "safe": ["yes", "no"],
        "recommend": [str(i) for i in range(11)],
        "heard": ["1", "5"],
    }
    scores = [parse(engine, q, raw).score for q, raws in samples.items() for raw in raws]
    assert all(s is not None and 1.0 <= s <= 5.0 for s in scores)
    assert min(scores) == 1.0  # type: ignore[type-var]
    assert max(scores) == 5.0  # type: ignore[type-var]


# ---- a whole session ----


def test_start_shows_the_first_question(session: Session) -> None:
    screen = session.screen()
    assert (screen.phase, current(session)) == ("asking", "plan")
    # when and heard are hidden until safe and help are answered
    assert (screen.number, screen.total, screen.step) == (1, 6, 0)
    assert (screen.can_back, screen.can_skip, screen.answer) == (False, False, None)


def test_a_full_run_counts_progress_and_finishes(session: Session) -> None:
    seen: list[tuple[str | None, int, int]] = []
    changes: list[Change] = []
    for raw in ["4", "2", "yes", "often", ["outings"], "9", "3", "thanks"]:
        screen = session.screen()
        seen.append((current(session), screen.number, screen.total))
        changes.append(session.answer(raw))
    assert seen == [
        ("plan", 1, 6),
        ("trust", 2, 6),
        ("safe", 3, 6),
        ("when", 4, 7),
        ("help", 5, 7),
        ("recommend", 6, 8),
        ("heard", 7, 8),
        ("comment", 8, 8),
    ]
    assert [c.finished for c in changes] == [False] * 7 + [True]
    assert session.finished
    screen = session.screen()
    assert (screen.phase, screen.question, screen.number, screen.total) == ("done", None, 8, 8)
    assert list(session.answers) == ORDER
    assert session.answers["help"].value == ["outings"]
    assert changes[0].upsert == Answer("plan", value=4, score=4.0)


def test_step_counts_every_applied_step(session: Session) -> None:
    session.answer("4")
    session.back()
    session.answer("4")
    session.pause()
    session.resume()
    assert session.screen().step == 5


def test_required_question_cannot_be_skipped(session: Session) -> None:
    before = session.to_json()
    with pytest.raises(NotSkippable) as caught:
        session.skip()
    assert caught.value.code == "required"
    assert session.to_json() == before


def test_optional_question_is_skipped(session: Session) -> None:
    session.answer("4")
    assert session.screen().can_skip
    change = session.skip()
    assert change.upsert == Answer("trust", skipped=True)
    assert current(session) == "safe"
    assert session.answers["trust"].skipped


def test_skipped_question_counts_as_unanswered_for_conditions(session: Session) -> None:
    walk_to(session, "safe")
    session.skip()
    assert current(session) == "help", "when is shown only after a 'yes'"


def test_back_returns_to_the_previous_question_with_its_answer(session: Session) -> None:
    with pytest.raises(CannotGoBack):
        session.back()
    session.answer("4")
    assert session.screen().can_back
    change = session.back()
    assert change == Change()
    screen = session.screen()
    assert (current(session), screen.number, screen.answer) == ("plan", 1, Answer("plan", 4, 4.0))
    assert not screen.can_back


def test_back_skips_hidden_questions(session: Session) -> None:
    walk_to(session, "safe")
    session.answer("unsure")
    assert current(session) == "help"
    session.back()
    assert current(session) == "safe"


def test_follow_up_when_its_condition_holds(session: Session) -> None:
    change = session.answer("2")
    assert not change.finished
    screen = session.screen()
    assert (screen.phase, current(session)) == ("follow_up", "plan")
    assert (screen.number, screen.total, screen.can_skip) == (1, 6, True)
    change = session.answer("  More time with each person.  ")
    assert change.upsert == Answer("plan", 2, 2.0, comment="More time with each person.")
    assert where(session) == ("asking", "trust")


@pytest.mark.parametrize(
    ("question", "raw", "due"),
    [
        ("plan", "1", True),
        ("plan", "2", True),
        ("plan", "3", False),
        ("plan", "na", False),
        ("safe", "no", True),
        ("safe", "yes", False),
        ("safe", "unsure", False),
        ("recommend", "6", True),
        ("recommend", "7", False),
        ("recommend", "0", True),
    ],
)
def test_follow_up_only_when_due(session: Session, question: str, raw: str, due: bool) -> None:
    walk_to(session, question)
    session.answer(raw)
    assert where(session)[0] == ("follow_up" if due else "asking")
    assert (current(session) == question) is due


def test_skipping_a_follow_up_leaves_no_comment(session: Session) -> None:
    session.answer("1")
    change = session.skip()
    assert change.upsert == Answer("plan", 1, 1.0)
    assert where(session) == ("asking", "trust")


def test_empty_follow_up_comment_is_no_comment(session: Session) -> None:
    session.answer("1")
    assert session.answer("   ").upsert == Answer("plan", 1, 1.0)


def test_follow_up_comment_has_a_limit(session: Session) -> None:
    walk_to(session, "safe")
    session.answer("no")
    before = session.to_json()
    with pytest.raises(InvalidAnswer) as caught:
        session.answer("x" * 101)
    assert (caught.value.code, caught.value.params) == ("too_long", {"limit": 100})
    assert session.to_json() == before
    session.answer("x" * 100)
    assert session.answers["safe"].comment == "x" * 100


def test_back_into_a_follow_up(session: Session) -> None:
    session.answer("1")
    session.answer("Too little time")
    assert where(session) == ("asking", "trust")
    session.back()
    screen = session.screen()
    assert (screen.phase, current(session)) == ("follow_up", "plan")
    assert screen.answer is not None and screen.answer.comment == "Too little time"
    session.back()
    assert where(session) == ("asking", "plan")
    with pytest.raises(CannotGoBack):
        session.back()


def test_same_answer_again_keeps_the_comment(session: Session) -> None:
    session.answer("1")
    session.answer("Too little time")
    session.back()
    session.back()
    session.answer("1")
    assert session.answers["plan"].comment == "Too little time"
    assert where(session) == ("follow_up", "plan")


def test_changed_answer_without_follow_up_drops_the_comment(session: Session) -> None:
    session.answer("1")
    session.answer("Too little time")
    session.back()
    session.back()
    change = session.answer("5")
    assert change.upsert == Answer("plan", 5, 5.0)
    assert session.answers["plan"].comment is None
    assert where(session) == ("asking", "trust")


def test_editing_an_answer_hides_later_questions_and_drops_their_answers(
    session: Session,
) -> None:
    walk_to(session, "recommend")
    assert {"when", "help"} <= session.answers.keys()
    total = session.screen().total
    for _ in range(3):
        session.back()
    assert current(session) == "safe"
    change = session.answer("no")
    assert change.removed == ("when",)
    assert "when" not in session.answers
    assert where(session) == ("follow_up", "safe")
    assert session.screen().total == total - 1
    session.skip()
    assert current(session) == "help", "the hidden question is passed over"


def test_editing_a_multiple_choice_answer_hides_a_dependent_question(session: Session) -> None:
    walk_to(session, "comment")
    assert session.answers["heard"].value == 5
    for _ in range(3):
        session.back()
    assert current(session) == "help"
    change = session.answer(["meals"])
    assert change.removed == ("heard",)
    walk_to(session, "comment")
    assert session.screen().total == 7


def test_skipping_a_question_can_hide_later_ones(session: Session) -> None:
    walk_to(session, "help")
    session.back()
    session.back()
    assert current(session) == "safe"
    assert session.skip().removed == ("when",)


def test_pause_and_resume(session: Session) -> None:
    session.answer("4")
    session.pause()
    screen = session.screen()
    assert screen.phase == "paused"
    assert screen.question is not None and screen.question.id == "trust"
    for step in (
        lambda: session.answer("1"),
        lambda: session.skip(),
        lambda: session.back(),
        lambda: session.pause(),
        lambda: session.toggle("meals"),
    ):
        with pytest.raises(SessionPaused):
            step()
    session.resume()
    assert where(session) == ("asking", "trust")
    assert session.resume() == Change(), "resuming an open session changes nothing"
    assert where(session) == ("asking", "trust")


def test_pause_in_a_follow_up_resumes_there(session: Session) -> None:
    session.answer("1")
    session.pause()
    assert session.state == "paused"
    session.resume()
    assert where(session) == ("follow_up", "plan")
    session.answer("a comment")
    assert session.answers["plan"].comment == "a comment"


def test_stale_step_is_refused(session: Session) -> None:
    old = session.screen().step
    session.answer("4", step=old)
    before = session.to_json()
    for step in (
        lambda: session.answer("1", step=old),
        lambda: session.skip(step=old),
        lambda: session.back(step=old),
        lambda: session.pause(step=old),
    ):
        with pytest.raises(StaleQuestion) as caught:
            step()
        assert caught.value.code == "stale"
    assert session.to_json() == before


def test_stale_question_id_is_refused(session: Session) -> None:
    session.answer("4", question_id="plan")
    with pytest.raises(StaleQuestion):
        session.answer("4", question_id="plan")
    with pytest.raises(StaleQuestion):
        session.skip(question_id="plan")
    session.answer("2", question_id="trust")
    assert current(session) == "safe"


def test_finished_session_refuses_every_step(session: Session) -> None:
    walk_to(session, "comment")
    session.answer("done")
    assert session.finished
    before = session.to_json()
    for step in (
        lambda: session.answer("1"),
        lambda: session.skip(),
        lambda: session.back(),
        lambda: session.pause(),
        lambda: session.resume(),
        lambda: session.toggle("meals"),
    ):
        with pytest.raises(SessionFinished) as caught:
            step()
        assert caught.value.code == "finished"
    assert session.to_json() == before


def test_refused_answers_change_nothing(session: Session) -> None:
    before = session.to_json()
    for raw in ["0", "x", "", None, "na na"]:
        with pytest.raises(InvalidAnswer):
            session.answer(raw)
    assert session.to_json() == before


def test_errors_are_dialog_errors_with_codes() -> None:
    codes = {
        NotSkippable: "required",
        StaleQuestion: "stale",
        SessionFinished: "finished",
        SessionPaused: "paused",
        CannotGoBack: "no_previous",
        CorruptState: "corrupt_state",
    }
    for cls, code in codes.items():
        error = cls("detail")
        assert isinstance(error, DialogError)
        assert error.code == code
    assert InvalidAnswer("empty", "x").code == "empty"


# ---- multiple choice: toggle and confirm ----


def test_toggle_then_confirm(session: Session) -> None:
    walk_to(session, "help")
    step = session.screen().step
    session.toggle("outings", step=step)
    session.toggle("meals")
    session.toggle("outings")
    session.toggle("cleaning")
    screen = session.screen()
    assert screen.selected == ("meals", "cleaning")
    assert screen.step == step + 4
    change = session.answer(list(screen.selected))
    assert change.upsert is not None and change.upsert.value == ["meals", "cleaning"]
    assert current(session) == "recommend"
    assert session.screen().selected == ()


def test_toggle_refuses_unknown_options_and_other_types(session: Session) -> None:
    with pytest.raises(InvalidAnswer):
        session.toggle("meals")  # plan is a scale question
    walk_to(session, "help")
    with pytest.raises(InvalidAnswer) as caught:
        session.toggle("gardening")
    assert caught.value.code == "not_an_option"
    assert session.screen().selected == ()


def test_back_drops_the_unconfirmed_selection(session: Session) -> None:
    walk_to(session, "help")
    session.toggle("meals")
    session.back()
    walk_to(session, "help")
    assert session.screen().selected == ()


def test_selection_survives_pause(session: Session) -> None:
    walk_to(session, "help")
    session.toggle("cleaning")
    session.pause()
    session.resume()
    assert session.screen().selected == ("cleaning",)


# ---- plans ----


def test_start_with_a_plan(engine: DialogEngine) -> None:
    session = engine.start(["trust", "safe", "comment"])
    assert (current(session), session.screen().total) == ("trust", 3)
    session.answer("1")
    session.answer("yes")
    assert session.answer("ok").finished


def test_question_whose_condition_reads_outside_the_plan_is_hidden(engine: DialogEngine) -> None:
    session = engine.start(["trust", "heard", "comment"])
    assert session.screen().total == 2
    session.answer("3")
    assert current(session) == "comment"


def test_plan_of_hidden_questions_is_finished_at_once(engine: DialogEngine) -> None:
    session = engine.start(["when", "heard"])
    assert session.finished
    assert (session.screen().number, session.screen().total) == (0, 0)


def test_plan_starting_with_a_hidden_question(engine: DialogEngine) -> None:
    session = engine.start(["when", "comment"])
    assert (current(session), session.screen().number, session.screen().total) == ("comment", 1, 1)


@pytest.mark.parametrize("plan", [["plan", "nope"], []])
def test_bad_plan(engine: DialogEngine, plan: list[str]) -> None:
    with pytest.raises(CorruptState):
        engine.start(plan)


def test_script_without_follow_ups_has_no_follow_up_phase() -> None:
    doc = document([section("s", [yes_no_q("a"), scale_q("b"), text_q("c")])])
    engine = DialogEngine(build(doc))
    assert "follow_up" not in engine.machine.states
    session = engine.start()
    session.answer("no")
    session.answer("1")
    session.back()
    session.pause()
    session.resume()
    session.answer("2")
    assert session.answer("done").finished


# ---- saving and restoring ----


def steps_to(session: Session, name: str) -> None:
    if name == "start":
        return
    if name == "mid_question":
        walk_to(session, "help")
    elif name == "mid_follow_up":
        walk_to(session, "safe")
        session.answer("no")
    elif name == "mid_toggle":
        walk_to(session, "help")
        session.toggle("outings")
        session.toggle("meals")
    elif name == "paused_in_follow_up":
        session.answer("1")
        session.pause()
    elif name == "after_back":
        walk_to(session, "recommend")
        session.back()
        session.back()
    elif name == "finished":
        walk_to(session, "comment")
        session.answer('Ünïcödé, "quotes" & <tags> 😀')


STATES = [
    "start",
    "mid_question",
    "mid_follow_up",
    "mid_toggle",
    "paused_in_follow_up",
    "after_back",
    "finished",
]


@pytest.mark.parametrize("name", STATES)
def test_json_round_trip_restores_exactly(engine: DialogEngine, name: str) -> None:
    session = engine.start()
    steps_to(session, name)
    saved = session.to_json()
    restored = engine.restore(saved)
    assert restored.to_json() == saved
    assert restored.screen() == session.screen()
    assert restored.answers == session.answers
    assert engine.restore(json.loads(saved)).to_json() == saved


@pytest.mark.parametrize("name", STATES[:-1])
def test_restored_session_continues_like_the_original(engine: DialogEngine, name: str) -> None:
    original = engine.start()
    steps_to(original, name)
    copy = engine.restore(original.to_json())
    for session in (original, copy):
        session.resume()
        while not session.finished:
            qid = current(session)
            assert qid is not None
            if session.state == "follow_up":
                session.skip()
            elif qid == "help":
                session.answer(list(session.screen().selected) or ["cleaning"])
            else:
                session.answer(HARMLESS[qid])
    assert copy.to_json() == original.to_json()
    assert copy.answers["help"].value == original.answers["help"].value


def saved_state(engine: DialogEngine, name: str = "mid_follow_up") -> dict[str, Any]:
    session = engine.start()
    steps_to(session, name)
    return json.loads(session.to_json())


CORRUPTIONS: dict[str, Any] = {
    "version": lambda d: d.update(v=99),
    "no_version": lambda d: d.pop("v"),
    "state_unknown": lambda d: d.update(state="flying"),
    "state_not_text": lambda d: d.update(state=["asking"]),
    "plan_unknown": lambda d: d["plan"].append("deleted-question"),
    "plan_empty": lambda d: d.update(plan=[], pos=0),
    "plan_not_list": lambda d: d.update(plan=7),
    "pos_too_far": lambda d: d.update(pos=99),
    "pos_negative": lambda d: d.update(pos=-1),
    "pos_text": lambda d: d.update(pos="two"),
    "step_missing": lambda d: d.pop("step"),
    "history_shape": lambda d: d.update(history=[[1]]),
    "history_position": lambda d: d.update(history=[[99, "asking"]]),
    "history_phase": lambda d: d.update(history=[[0, "flying"]]),
    "answers_not_mapping": lambda d: d.update(answers=[1, 2]),
    "answer_unknown_key": lambda d: d["answers"]["plan"].update(colour="red"),
    "answer_not_mapping": lambda d: d["answers"].update(plan=4),
    "answer_unknown_question": lambda d: d["answers"].update(ghost={"value": 1}),
    "follow_up_without_answer": lambda d: d["answers"].pop("safe"),
    "follow_up_on_question_without_one": lambda d: d.update(pos=1),
    "resume_to_unknown": lambda d: d.update(state="paused", resume_to="flying"),
    "resume_to_follow_up_without_answer": lambda d: (
        d.update(state="paused", resume_to="follow_up"),
        d["answers"].pop("safe"),
    ),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_state(engine: DialogEngine, name: str) -> None:
    data = saved_state(engine)
    CORRUPTIONS[name](data)
    with pytest.raises(CorruptState) as caught:
        engine.restore(json.dumps(data))
    assert caught.value.code == "corrupt_state"


@pytest.mark.parametrize(
    "raw", ["", "{", "null", "[]", "42", '"text"', "[" * 100_000, '{"v": 1}', "\x00"]
)
def test_unreadable_state(engine: DialogEngine, raw: str) -> None:
    with pytest.raises(CorruptState):
        engine.restore(raw)


def test_state_of_another_script_version(engine: DialogEngine) -> None:
    saved = engine.start().to_json()
    doc = full_document()
    doc["sections"][0]["questions"][0]["id"] = "plan2"
    newer = DialogEngine(build(doc))
    with pytest.raises(CorruptState):
        newer.restore(saved)


def test_restored_state_is_independent_of_its_source(engine: DialogEngine) -> None:
    data = saved_state(engine, "mid_toggle")
    session = engine.restore(data)
    session.toggle("cleaning")
    assert data["draft"] == ["outings", "meals"]
    assert session.draft == ["outings", "meals", "cleaning"]


def test_follow_up_on_a_question_added_to_the_script() -> None:
    """A session keeps working when its question gets a follow-up in a later version."""
    plain = document([section("s", [scale_q("a"), scale_q("b")])])
    with_follow_up = document(
        [section("s", [scale_q("a", follow_up=follow_up({"lte": 2})), scale_q("b")])]
    )
    session = DialogEngine(build(plain)).start()
    saved = session.to_json()
    restored = DialogEngine(build(with_follow_up)).restore(saved)
    restored.answer("1")
    assert where(restored) == ("follow_up", "a")
