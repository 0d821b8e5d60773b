"""The dialog engine: a `transitions` machine per script version driving sessions.

Pure: no I/O and no Telegram. The machine is built once per script version and
cached; sessions are plain objects the machine's events are triggered on
(`Event.trigger(model)`), so no model is attached or detached per update.

The machine owns the phases (asking, follow_up, paused, done) and their
transitions; the session owns the facts the transitions are decided on (which
question comes next, whether a follow-up is due), computed before each trigger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from transitions import Machine
from transitions.core import MachineError

from dialogs import limits
from dialogs.conditions import holds
from dialogs.model import Option, Question, Script, Text
from dialogs.step_errors import (
    CannotGoBack,
    CorruptState,
    InvalidAnswer,
    NotSkippable,
    SessionFinished,
    SessionPaused,
    StaleQuestion,
)

STATE_VERSION = 1
YES_NO: tuple[str, ...] = ("yes", "no", "unsure")
NOT_APPLICABLE = "na"
NOT_APPLICABLE_TOKEN = "n"
NPS_RANGE = range(11)
Phase = Literal["asking", "follow_up", "paused", "done"]
Action = Literal["answer", "skip", "back", "pause", "resume", "toggle", "confirm"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One thing a person can pick on a question, the same for every adapter.

    `token` is what a button (or a typed option number) carries: the option's
    place, or "n" for "not applicable". `value` is what the engine stores.
    `label` and `emoji` come from the script; a yes/no answer or a 0-10 number
    has no script label, and each adapter words it (translated, or the digit).
    """

    token: str
    value: int | str
    label: Text | None = None
    emoji: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer: `score` is its place on the common 1-5 scale, when it has one."""

    question_id: str
    value: int | str | list[str] | None = None
    score: float | None = None
    not_applicable: bool = False
    skipped: bool = False
    comment: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value}
        for key in ("score", "comment"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        for key in ("not_applicable", "skipped"):
            if getattr(self, key):
                data[key] = True
        return data

    @classmethod
    def from_json(cls, question_id: str, data: dict[str, Any]) -> Answer:
        return cls(question_id=question_id, **data)


@dataclass(frozen=True, slots=True)
class Screen:
    """What the person should see now; `step` identifies it for stale-button checks."""

    phase: Phase
    question: Question | None
    number: int
    total: int
    step: int
    answer: Answer | None
    can_back: bool
    can_skip: bool
    selected: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """What one step changed, for storage: an answer to write and answers to drop.

    `safeguarding` names the question whose safeguarding rule this answer made hold
    (and did not hold before it): the caller shows help and stores a signal.
    """

    upsert: Answer | None = None
    removed: tuple[str, ...] = ()
    finished: bool = False
    safeguarding: str | None = None


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "answer", "source": "asking", "dest": "follow_up", "conditions": "follow_up_due"},
    {
        "trigger": "answer",
        "source": ["asking", "follow_up"],
        "dest": "done",
        "conditions": "at_end",
    },
    {"trigger": "answer", "source": ["asking", "follow_up"], "dest": "asking"},
    {"trigger": "skip", "source": ["asking", "follow_up"], "dest": "done", "conditions": "at_end"},
    {"trigger": "skip", "source": ["asking", "follow_up"], "dest": "asking"},
    {
        "trigger": "back",
        "source": ["asking", "follow_up"],
        "dest": "follow_up",
        "conditions": "back_to_follow_up",
    },
    {"trigger": "back", "source": ["asking", "follow_up"], "dest": "asking"},
    {"trigger": "pause", "source": ["asking", "follow_up"], "dest": "paused"},
    {
        "trigger": "resume",
        "source": "paused",
        "dest": "follow_up",
        "conditions": "resume_to_follow_up",
    },
    {"trigger": "resume", "source": "paused", "dest": "asking"},
]


def build_machine(has_follow_ups: bool) -> Machine:
    """The phase machine; scripts without follow-ups get one without that state."""
    states = ["asking", "follow_up", "paused", "done"]
    transitions = TRANSITIONS
    if not has_follow_ups:
        states.remove("follow_up")
        transitions = [
            {**t, "source": [s for s in _as_list(t["source"]) if s != "follow_up"]}
            for t in TRANSITIONS
            if t["dest"] != "follow_up"
        ]
        transitions = [t for t in transitions if t["source"]]
    return Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial="asking",
        auto_transitions=False,
        send_event=False,
    )


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


class DialogEngine:
    """Everything derivable from one script version, computed once."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.questions: dict[str, Question] = {q.id: q for q in script.questions()}
        self.has_follow_ups = any(q.follow_up for q in self.questions.values())
        self.machine = build_machine(self.has_follow_ups)
        self.events = self.machine.events
        self._options: dict[str, dict[str, Option]] = {
            q.id: {str(o.value): o for o in self.options(q)} for q in self.questions.values()
        }
        self._choices = {q.id: self._list_choices(q) for q in self.questions.values()}

    def options(self, question: Question) -> list[Option]:
        """The script's options of a question: its scale's points or its own options."""
        if question.type == "scale" and question.scale is not None:
            return self.script.scales[question.scale].options
        return question.options or []

    def choices(self, question: Question) -> tuple[Choice, ...]:
        """What the question offers, in order: one list for buttons, the console and previews."""
        return self._choices[question.id]

    def choice(self, question: Question, token: str) -> Choice:
        """The choice a button or option number stands for; InvalidAnswer if there is none."""
        for candidate in self._choices[question.id]:
            if candidate.token == token:
                return candidate
        raise InvalidAnswer("not_an_option", f"no option {token!r} on question {question.id}")

    def _list_choices(self, question: Question) -> tuple[Choice, ...]:
        if question.type == "text":
            return ()
        if question.type == "yes_no":
            return tuple(Choice(str(i), value) for i, value in enumerate(YES_NO))
        if question.type == "nps":
            return tuple(Choice(str(n), n) for n in NPS_RANGE)
        listed = [
            Choice(str(i), option.value, option.label, option.emoji)
            for i, option in enumerate(self.options(question))
        ]
        if question.type == "scale" and question.scale is not None:
            not_applicable = self.script.scales[question.scale].not_applicable
            if not_applicable:
                listed.append(Choice(NOT_APPLICABLE_TOKEN, NOT_APPLICABLE, not_applicable))
        return tuple(listed)

    def start(self, plan: tuple[str, ...] | list[str] | None = None) -> Session:
        ids = list(plan) if plan is not None else list(self.questions)
        unknown = [q for q in ids if q not in self.questions]
        if unknown or not ids:
            raise CorruptState(f"plan names unknown questions: {unknown}" if unknown else "empty")
        session = Session(self, ids)
        session._settle_start()
        return session

    def restore(self, data: str | dict[str, Any]) -> Session:
        """A session exactly as it was saved, or CorruptState if it does not fit this script."""
        try:
            raw = json.loads(data) if isinstance(data, str) else data
            if raw.get("v") != STATE_VERSION:
                raise CorruptState(f"unknown state version {raw.get('v')!r}")
            session = Session(self, list(raw["plan"]))
            session.state = raw["state"]
            session.pos = int(raw["pos"])
            session.step = int(raw["step"])
            session.history = [(int(p), str(ph)) for p, ph in raw["history"]]
            session.resume_to = raw.get("resume_to", "asking")
            session.draft = list(raw.get("draft", []))
            session.last_input = raw.get("last_input")
            session.answers = {q: Answer.from_json(q, a) for q, a in raw["answers"].items()}
        except CorruptState:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise CorruptState(f"unreadable session state: {exc}") from exc
        if not self._fits(session):
            raise CorruptState("session state does not fit this script version")
        return session

    def _fits(self, session: Session) -> bool:
        """Whether a restored session can take every step without failing."""
        plan = session.plan
        if not all(isinstance(q, str) and q in self.questions for q in plan):
            return False
        if not isinstance(session.state, str) or session.state not in self.machine.states:
            return False
        if not 0 <= session.pos < len(plan) or not set(session.answers) <= set(plan):
            return False
        phases = ("asking", "follow_up")
        if session.resume_to not in phases:
            return False
        resting = {"paused": session.resume_to, "done": "asking"}.get(session.state, session.state)
        # every place the session is in or can go back to must exist in this script
        places = [*session.history, (session.pos, resting)]
        for pos, phase in places:
            if not 0 <= pos < len(plan) or phase not in phases:
                return False
            question = self.questions[plan[pos]]
            if phase == "follow_up" and (
                question.follow_up is None or question.id not in session.answers
            ):
                return False
        return True

    # Answer parsing lives on the engine: it depends on the script, not the session.

    def parse(self, question: Question, raw: object) -> Answer:
        """Validate a raw answer (button value or typed text) into an Answer."""
        qid = question.id
        kind = question.type
        if kind == "text":
            text = str(raw).strip() if raw is not None else ""
            limit = question.max_length or limits.DEFAULT_TEXT_ANSWER_CHARS
            if not text:
                raise InvalidAnswer("empty", "the answer is empty")
            if len(text) > limit:
                raise InvalidAnswer("too_long", f"{len(text)} > {limit} characters", limit=limit)
            return Answer(qid, value=text)
        if kind == "multi":
            values = raw if isinstance(raw, list | tuple) else [raw]
            options = self._options[qid]
            picked = [str(v) for v in values]
            bad = [v for v in picked if v not in options]
            if bad:
                raise InvalidAnswer("not_an_option", f"not an option: {bad[0]!r}", value=bad[0])
            # keep the script's order, drop repeats
            ordered = [k for k in options if k in picked]
            if not ordered:
                # Confirming nothing is skipping: refused where an answer is required.
                if question.required:
                    raise NotSkippable(f"question {qid} is required")
                return Answer(qid, skipped=True)
            return Answer(qid, value=ordered)
        token = str(raw).strip().lower() if raw is not None else ""
        if kind == "scale" and token == NOT_APPLICABLE:
            scale = self.script.scales[question.scale or ""]
            if scale.not_applicable is None:
                raise InvalidAnswer("not_an_option", "this scale has no 'not applicable'")
            return Answer(qid, value=None, not_applicable=True)
        if kind == "yes_no":
            if token not in YES_NO:
                raise InvalidAnswer("not_an_option", f"expected yes/no/unsure, got {token!r}")
            return Answer(qid, value=token, score={"yes": 5.0, "no": 1.0}.get(token))
        if kind == "nps":
            number = _integer(token)
            if not 0 <= number <= 10:
                raise InvalidAnswer("out_of_range", f"{number} not in 0..10", low=0, high=10)
            return Answer(qid, value=number, score=round(1 + number * 0.4, 4))
        option = self._options[qid].get(token)
        if option is None:
            if kind == "scale":
                values = [int(v) for v in self._options[qid]]
                number = _integer(token)
                raise InvalidAnswer(
                    "out_of_range",
                    f"{number} not in {min(values)}..{max(values)}",
                    low=min(values),
                    high=max(values),
                )
            raise InvalidAnswer("not_an_option", f"not an option: {token!r}", value=token)
        return Answer(qid, value=option.value, score=self._score(question, option))

    def _score(self, question: Question, option: Option) -> float | None:
        if option.score is not None:
            return option.score
        if question.type != "scale":
            return None
        values = [int(o.value) for o in self.options(question)]
        low, high = min(values), max(values)
        return round(1 + 4 * (int(option.value) - low) / (high - low), 4)


def _integer(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InvalidAnswer("not_a_number", f"not a number: {token!r}") from None


@dataclass(eq=False)
class Session:
    """One person's pass through a script; the machine's model."""

    engine: DialogEngine
    plan: list[str]
    state: str = "asking"
    pos: int = 0
    step: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)
    history: list[tuple[int, str]] = field(default_factory=list)
    resume_to: str = "asking"
    draft: list[str] = field(default_factory=list)
    # An opaque key of the last applied input (e.g. a message id), so that a
    # redelivered update is recognised and not applied a second time.
    last_input: str | None = None
    _next: int | None = None
    _back_to: tuple[int, str] | None = None

    # ---- public steps ----

    def answer(
        self, raw: object, *, step: int | None = None, question_id: str | None = None
    ) -> Change:
        """Apply an answer (or a follow-up comment) to the current screen."""
        question = self._current(step, question_id)
        removed: tuple[str, ...] = ()
        signalled = self._signals(question)
        if self.state == "follow_up":
            assert question.follow_up is not None
            text = str(raw).strip() if raw is not None else ""
            limit = question.follow_up.max_length
            if len(text) > limit:
                raise InvalidAnswer("too_long", f"{len(text)} > {limit} characters", limit=limit)
            previous = self.answers[question.id]
            answer = replace(previous, comment=text or None)
            self.answers[question.id] = answer
        else:
            answer = self.engine.parse(question, raw)
            previous_answer = self.answers.get(question.id)
            if previous_answer is not None and previous_answer.value == answer.value:
                answer = replace(answer, comment=previous_answer.comment)
            self.answers[question.id] = answer
            self.draft = []
            removed = self._drop_hidden()
            no_follow_up = question.follow_up is None or not self.follow_up_due()
            if no_follow_up and answer.comment is not None:
                answer = replace(answer, comment=None)
                self.answers[question.id] = answer
        self._next = self._next_visible(self.pos)
        self._fire("answer")
        fired = question.id if self._signals(question) and not signalled else None
        return Change(
            upsert=answer, removed=removed, finished=self.state == "done", safeguarding=fired
        )

    def skip(self, *, step: int | None = None, question_id: str | None = None) -> Change:
        """Leave the current question unanswered (or the follow-up without a comment)."""
        question = self._current(step, question_id)
        if self.state == "follow_up":
            answer = replace(self.answers[question.id], comment=None)
        else:
            if question.required:
                raise NotSkippable(f"question {question.id} is required")
            answer = Answer(question.id, skipped=True)
            self.draft = []
        self.answers[question.id] = answer
        removed = self._drop_hidden()
        self._next = self._next_visible(self.pos)
        self._fire("skip")
        return Change(upsert=answer, removed=removed, finished=self.state == "done")

    def back(self, *, step: int | None = None) -> Change:
        self._check_open(step)
        if not self.history:
            raise CannotGoBack("this is the first question")
        self._back_to = self.history[-1]
        self._fire("back")
        return Change()

    def pause(self, *, step: int | None = None) -> Change:
        self._check_open(step)
        self.resume_to = self.state
        self._fire("pause")
        return Change()

    def resume(self) -> Change:
        if self.state == "done":
            raise SessionFinished("the session is finished")
        if self.state == "paused":
            self._fire("resume")
        return Change()

    def toggle(self, value: str, *, step: int | None = None) -> Change:
        """Flip one option of a multiple-choice question before it is confirmed."""
        question = self._current(step, None)
        if question.type != "multi" or self.state != "asking":
            raise InvalidAnswer("not_an_option", "only multiple-choice questions toggle")
        if str(value) not in self.engine._options[question.id]:
            raise InvalidAnswer("not_an_option", f"not an option: {value!r}", value=value)
        value = str(value)
        if value in self.draft:
            self.draft = [v for v in self.draft if v != value]
        else:
            self.draft = [*self.draft, value]
        self.step += 1
        return Change()

    def apply(
        self,
        action: Action,
        value: object = None,
        *,
        step: int | None = None,
        token: str | None = None,
    ) -> Change:
        """One step named by its action, as the console, the bot and previews send them.

        A button carries a choice's `token` instead of a value. The token is read only
        after the step is known to be current: on another screen it would name a
        different option, or none.
        """
        if token is not None or action == "confirm":
            question = self._current(step, None)
            if action == "confirm":
                if question.type != "multi" or self.state != "asking":
                    raise InvalidAnswer("not_an_option", "only multiple-choice questions confirm")
                action, value = "answer", list(self.draft)
            else:
                value = self.engine.choice(question, token or "").value
        if action == "answer":
            return self.answer(value, step=step)
        if action == "skip":
            return self.skip(step=step)
        if action == "back":
            return self.back(step=step)
        if action == "pause":
            return self.pause(step=step)
        if action == "resume":
            return self.resume()
        if action == "toggle":
            return self.toggle(str(value), step=step)
        raise InvalidAnswer("not_an_option", f"unknown action {action!r}")

    # ---- what to show ----

    def screen(self) -> Screen:
        visible = self._visible_positions()
        phase: Phase = self.state  # type: ignore[assignment]
        if phase == "done":
            return Screen(phase, None, len(visible), len(visible), self.step, None, False, False)
        question = self.engine.questions[self.plan[self.pos]]
        number = visible.index(self.pos) + 1 if self.pos in visible else 1
        can_skip = phase == "follow_up" or not question.required
        return Screen(
            phase=phase,
            question=question,
            number=number,
            total=len(visible),
            step=self.step,
            answer=self.answers.get(question.id),
            can_back=bool(self.history),
            can_skip=can_skip,
            selected=tuple(self.draft),
        )

    def snapshot(self) -> Session:
        """A copy to roll back to if a step cannot be stored; much cheaper than JSON."""
        return replace(
            self,
            answers=dict(self.answers),
            history=list(self.history),
            draft=list(self.draft),
        )

    @property
    def finished(self) -> bool:
        return self.state == "done"

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": STATE_VERSION,
                "state": self.state,
                "plan": self.plan,
                "pos": self.pos,
                "step": self.step,
                "history": self.history,
                "resume_to": self.resume_to,
                "draft": self.draft,
                "last_input": self.last_input,
                "answers": {q: a.to_json() for q, a in self.answers.items()},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    # ---- conditions and callbacks named in TRANSITIONS ----

    def follow_up_due(self) -> bool:
        question = self.engine.questions[self.plan[self.pos]]
        if question.follow_up is None:
            return False
        return holds(question.follow_up.show_if, self.answers, question.id)

    def at_end(self) -> bool:
        return self._next is None

    def _signals(self, question: Question) -> bool:
        """Whether the question's safeguarding rule holds for its answer now.

        Compared before and after an answer, so going back and giving the same answer
        again (or adding a follow-up comment) does not signal twice.
        """
        rule = question.safeguard_if
        return rule is not None and holds(rule, self.answers, question.id)

    def back_to_follow_up(self) -> bool:
        return self._back_to is not None and self._back_to[1] == "follow_up"

    def resume_to_follow_up(self) -> bool:
        return self.resume_to == "follow_up"

    # ---- internals ----

    def _fire(self, event: str) -> None:
        before = (self.pos, self.state)
        try:
            moved = self.engine.events[event].trigger(self)
        except MachineError as exc:
            raise StaleQuestion(f"{event} is not possible in state {self.state}") from exc
        if not moved:
            raise StaleQuestion(f"{event} is not possible in state {self.state}")
        after_state = self.state
        if event in ("answer", "skip"):
            self.history.append(before)
            if after_state == "asking" and self._next is not None:
                self.pos = self._next
        elif event == "back" and self._back_to is not None:
            self.pos = self._back_to[0]
            self.history.pop()
            self._back_to = None
            self.draft = []
        self._next = None
        self.step += 1

    def _current(self, step: int | None, question_id: str | None) -> Question:
        self._check_open(step)
        question = self.engine.questions[self.plan[self.pos]]
        if question_id is not None and question_id != question.id:
            raise StaleQuestion(f"question {question_id} is not the current one")
        return question

    def _check_open(self, step: int | None) -> None:
        if self.state == "done":
            raise SessionFinished("the session is finished")
        if self.state == "paused":
            raise SessionPaused("the session is paused")
        if step is not None and step != self.step:
            raise StaleQuestion(f"step {step} is not the current step {self.step}")

    def _visible(self, pos: int) -> bool:
        condition = self.engine.questions[self.plan[pos]].show_if
        return condition is None or holds(condition, self.answers, None)

    def _visible_positions(self) -> list[int]:
        return [i for i in range(len(self.plan)) if self._visible(i)]

    def _next_visible(self, pos: int) -> int | None:
        for i in range(pos + 1, len(self.plan)):
            if self._visible(i):
                return i
        return None

    def _drop_hidden(self) -> tuple[str, ...]:
        """Answers to questions an edited answer has hidden no longer count."""
        hidden = tuple(
            qid
            for i, qid in enumerate(self.plan)
            if qid in self.answers and i > self.pos and not self._visible(i)
        )
        for qid in hidden:
            del self.answers[qid]
        return hidden

    def _settle_start(self) -> None:
        if not self._visible(0):
            nxt = self._next_visible(0)
            if nxt is None:
                self.state = "done"
            else:
                self.pos = nxt
