"""Pulse rotation: every question once per cycle per respondent, seeded orders, new versions."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.engine import DialogEngine
from dialogs.model import Pulse, Script
from dialogs.rotation import Plan, plan_session
from tests.scriptdocs import build, document, full_document, pulse_document, section, yes_no_q


def pulse(count: int, per_session: int, rotation: str = "cover-all") -> Script:
    doc = document(
        [section("s", [yes_no_q(f"q{i:02d}") for i in range(count)])],
        pulse={"questions_per_session": per_session, "rotation": rotation},
    )
    return build(doc)


def sessions(script: Script, count: int, seed: str = "person-1") -> list[Plan]:
    plans = []
    cycle, asked = 0, frozenset[str]()
    for _ in range(count):
        plan = plan_session(script, cycle=cycle, asked=asked, seed=seed)
        plans.append(plan)
        cycle, asked = plan.cycle, plan.asked_in_cycle
    return plans


def check_cover_all(script: Script, plans: list[Plan]) -> dict[int, Counter[str]]:
    """Split each session's questions into cycles and check the rotation's promises."""
    everything = {q.id for q in script.questions()}
    per = script.pulse.questions_per_session
    asked_by_cycle: dict[int, Counter[str]] = {}
    cycle, asked = 0, frozenset[str]()
    for plan in plans:
        chosen = set(plan.question_ids)
        assert len(plan.question_ids) == len(chosen) == min(per or 0, len(everything))
        if plan.cycle == cycle:
            assert not chosen & asked, "a question repeats within its cycle"
            assert plan.asked_in_cycle == asked | chosen
            asked_by_cycle.setdefault(cycle, Counter()).update(chosen)
        else:
            assert plan.cycle == cycle + 1
            new = plan.asked_in_cycle
            old = chosen - new
            assert new <= chosen
            assert old | asked == everything, "a cycle ended before covering every question"
            assert not old & asked
            asked_by_cycle.setdefault(cycle, Counter()).update(old)
            asked_by_cycle.setdefault(cycle + 1, Counter()).update(new)
        cycle, asked = plan.cycle, plan.asked_in_cycle
    return asked_by_cycle


def test_without_a_pulse_every_question_is_asked_in_order() -> None:
    script = build(full_document())
    plan = plan_session(script, cycle=3, seed="x")
    assert plan == Plan(tuple(q.id for q in script.questions()), 3, frozenset())


def test_rotation_none_asks_the_first_questions() -> None:
    plan = plan_session(pulse(10, 4, "none"), seed="x")
    assert plan.question_ids == ("q00", "q01", "q02", "q03")
    assert plan_session(pulse(10, 4, "none"), seed="y") == plan


def test_cover_all_covers_every_question_once_per_cycle() -> None:
    script = build(pulse_document(40, 5))
    plans = sessions(script, 8 * 3)  # three full cycles
    by_cycle = check_cover_all(script, plans)
    assert sorted(by_cycle) == [0, 1, 2, 3]
    for cycle in (0, 1, 2):
        assert set(by_cycle[cycle]) == {q.id for q in script.questions()}
        assert set(by_cycle[cycle].values()) == {1}
    assert [p.cycle for p in plans[6:9]] == [0, 1, 1]


def test_each_session_lists_its_questions_in_script_order() -> None:
    script = build(pulse_document(40, 5))
    position = {q.id: i for i, q in enumerate(script.questions())}
    for plan in sessions(script, 10):
        ranks = [position[q] for q in plan.question_ids]
        assert ranks == sorted(ranks)


def test_cycle_rollover_fills_the_session() -> None:
    script = pulse(8, 5)
    first, second, third = sessions(script, 3)
    assert (len(first.question_ids), first.cycle) == (5, 0)
    assert len(second.question_ids) == 5
    assert second.cycle == 1
    leftover = {q.id for q in script.questions()} - set(first.question_ids)
    assert leftover < set(second.question_ids)
    assert second.asked_in_cycle == set(second.question_ids) - leftover
    assert len(second.asked_in_cycle) == 2
    assert not set(third.question_ids) & second.asked_in_cycle


def test_exact_end_of_a_cycle_opens_the_next_empty() -> None:
    script = pulse(10, 5)
    first, second = sessions(script, 2)
    assert (first.cycle, len(first.asked_in_cycle)) == (0, 5)
    assert (second.cycle, second.asked_in_cycle) == (1, frozenset())
    assert set(first.question_ids) | set(second.question_ids) == {f"q{i:02d}" for i in range(10)}


def test_same_seed_same_order_and_different_seeds_different_orders() -> None:
    script = build(pulse_document(40, 5))
    assert sessions(script, 3, "anna") == sessions(script, 3, "anna")
    firsts = {plan_session(script, seed=f"person-{i}").question_ids for i in range(20)}
    assert len(firsts) > 10


def test_different_cycles_are_shuffled_differently() -> None:
    script = build(pulse_document(40, 5))
    plans = sessions(script, 16)
    cycle0 = [p.question_ids for p in plans[:8]]
    cycle1 = [p.question_ids for p in plans[8:]]
    assert cycle0 != cycle1


def test_questions_removed_in_a_newer_version_are_ignored() -> None:
    old = pulse(10, 3)
    first = plan_session(old, seed="p")
    # The newer version drops two of the questions already asked and adds one.
    removed = sorted(first.question_ids)[:2]
    doc = document(
        [
            section(
                "s",
                [yes_no_q(f"q{i:02d}") for i in range(10) if f"q{i:02d}" not in removed]
                + [yes_no_q("q10")],
            )
        ],
        pulse={"questions_per_session": 3, "rotation": "cover-all"},
    )
    new = build(doc)
    plans = [first]
    cycle, asked = first.cycle, first.asked_in_cycle
    for _ in range(4):
        plan = plan_session(new, cycle=cycle, asked=asked, seed="p")
        assert not set(plan.question_ids) & set(removed)
        assert plan.asked_in_cycle <= {q.id for q in new.questions()}
        plans.append(plan)
        cycle, asked = plan.cycle, plan.asked_in_cycle
    # The first cycle still covers every current question exactly once.
    kept = set(first.question_ids) - set(removed)
    asked_in_cycle0 = Counter(kept)
    for plan in plans[1:]:
        if plan.cycle == 0:
            asked_in_cycle0.update(plan.question_ids)
        else:
            asked_in_cycle0.update(set(plan.question_ids) - plan.asked_in_cycle)
            break
    assert set(asked_in_cycle0) == {q.id for q in new.questions()}
    assert set(asked_in_cycle0.values()) == {1}


def test_session_larger_than_a_shrunken_bank_asks_everything_once() -> None:
    doc = document(
        [section("s", [yes_no_q("a"), yes_no_q("b"), yes_no_q("c")])],
        pulse={"questions_per_session": 3, "rotation": "cover-all"},
    )
    # A session size the validator would refuse now, kept from an older, larger version.
    script = build(doc).model_copy(
        update={"pulse": Pulse(questions_per_session=5, rotation="cover-all")}
    )
    plan = plan_session(script, asked=frozenset({"a"}), seed="s")
    assert sorted(plan.question_ids) == ["a", "b", "c"]
    assert plan.cycle == 1
    assert plan.asked_in_cycle == {"a"}


def test_a_plan_starts_a_session() -> None:
    script = build(pulse_document(40, 5))
    plan = plan_session(script, seed="p")
    session = DialogEngine(script).start(plan.question_ids)
    assert session.screen().total == 5
    assert session.plan == list(plan.question_ids)


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(1, 30),
    per=st.integers(1, 30),
    seed=st.text(max_size=8),
    rounds=st.integers(1, 25),
)
def test_cover_all_holds_for_any_bank(count: int, per: int, seed: str, rounds: int) -> None:
    per = min(per, count)
    script = pulse(count, per)
    plans = sessions(script, rounds, seed)
    by_cycle = check_cover_all(script, plans)
    complete = [c for c in by_cycle if c < plans[-1].cycle]
    for cycle in complete:
        assert sorted(by_cycle[cycle].elements()) == sorted(q.id for q in script.questions())
