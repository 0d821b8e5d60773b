"""The one path from an input to the engine to storage and back.

Console and Telegram handlers both call this: it starts or resumes a session,
applies one step through the engine, commits the answer and the new state in
one transaction, and only then returns the next screen. Live sessions stay in
memory between updates; the database stays the truth, so a restart loses
nothing and a failed commit rolls the in-memory session back.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from bot.services.periods import iso_week
from bot.services.script_registry import LoadedScript, ScriptRegistry
from dialogs.engine import Action, Answer, Change, Screen, Session
from dialogs.errors import StaleQuestion
from dialogs.rotation import plan_session
from storage.db import Database
from storage.errors import StaleRevision
from storage.group_commit import GroupCommit
from storage.sessions import AnswerRow, SessionRepo, SessionRow, StepWrite

LIVE_SESSIONS = 20_000


class AlreadySubmitted(Exception):
    """A service user answered this script in this period already."""


class NotYourSession(Exception):
    """The session belongs to someone else (forged or foreign callback data)."""


@dataclass(frozen=True, slots=True)
class Respondent:
    """Who answers: staff by person id; service users only by their keyed hash.

    A button press may carry both (a staff member can also scan a poster); the
    session's own audience decides which one must match.
    """

    person_id: int | None = None
    key: str | None = None

    @property
    def audience(self) -> str:
        return "service_user" if self.key is not None else "staff"


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one input, for the renderer."""

    session_id: int
    org_id: int
    loaded: LoadedScript
    screen: Screen
    change: Change | None = None
    resumed: bool = False
    duplicate: bool = False


@dataclass
class _Live:
    row: SessionRow
    loaded: LoadedScript
    session: Session
    revision: int
    lock: asyncio.Lock


class DialogService:
    def __init__(self, db: Database, scripts: ScriptRegistry) -> None:
        self.sessions = SessionRepo(db)
        self.commits = GroupCommit(self.sessions)
        # A fixed set of locks, shared by hash: bounded memory, rare contention.
        self._begin_locks = [asyncio.Lock() for _ in range(64)]
        self.scripts = scripts
        self._live: OrderedDict[int, _Live] = OrderedDict()

    async def begin(
        self,
        *,
        script_id: str,
        org_id: int,
        unit_id: int | None,
        respondent: Respondent,
        today: date,
    ) -> Step:
        """Resume this period's open session of the script, or start a new one.

        One start at a time per respondent: two starts at once (a double tap, two
        /checkin) would otherwise both find no open session and create two.
        """
        lock = self._begin_locks[hash(respondent) % len(self._begin_locks)]
        async with lock:
            return await self._begin(script_id, org_id, unit_id, respondent, today)

    async def _begin(
        self,
        script_id: str,
        org_id: int,
        unit_id: int | None,
        respondent: Respondent,
        today: date,
    ) -> Step:
        period = iso_week(today)
        if respondent.key is not None:
            respondent = Respondent(key=respondent.key)
        open_row = await self.sessions.find_open(
            script_id=script_id,
            org_id=org_id,
            period=period,
            person_id=respondent.person_id,
            respondent_key=respondent.key,
        )
        if open_row is not None:
            live = await self._load(open_row.id)
            async with live.lock:
                if live.session.state == "paused":
                    await self._apply(live, "resume", None, None, today, None)
                return Step(
                    live.row.id, live.row.org_id, live.loaded, live.session.screen(), resumed=True
                )
        loaded = await self.scripts.active(script_id, org_id)
        script = loaded.script
        if not script.resubmit and await self._submitted(respondent, script_id, org_id, period):
            raise AlreadySubmitted(script_id)
        if respondent.person_id is not None:
            cycle, asked = await self.sessions.get_rotation(respondent.person_id, script_id)
            plan = plan_session(script, cycle=cycle, asked=asked, seed=str(respondent.person_id))
        else:
            plan = plan_session(script)
        session = loaded.engine.start(plan.question_ids)
        assert loaded.version is not None  # the registry's scripts are published versions
        row = await self.sessions.create(
            script_version_id=loaded.version.id,
            org_id=org_id,
            unit_id=unit_id,
            audience=respondent.audience,
            person_id=respondent.person_id,
            respondent_key=respondent.key,
            period=period,
            state_json=session.to_json(),
            today=today,
        )
        if respondent.person_id is not None:
            await self.sessions.set_rotation(
                respondent.person_id, script_id, plan.cycle, plan.asked_in_cycle
            )
        live = _Live(row, loaded, session, row.revision, asyncio.Lock())
        self._remember(live)
        return Step(row.id, row.org_id, loaded, session.screen())

    async def _submitted(
        self, respondent: Respondent, script_id: str, org_id: int, period: str
    ) -> bool:
        """Once a period each: a second check-in would weigh one person twice in the digest."""
        if respondent.key is not None:
            return await self.sessions.has_submitted(respondent.key, script_id, org_id, period)
        assert respondent.person_id is not None
        return await self.sessions.completed(respondent.person_id, org_id, period)

    async def current(self, session_id: int, respondent: Respondent) -> Step:
        live = await self._owned(session_id, respondent)
        return Step(session_id, live.row.org_id, live.loaded, live.session.screen())

    async def step(
        self,
        session_id: int,
        respondent: Respondent,
        action: Action,
        value: object = None,
        *,
        step: int | None = None,
        today: date,
        input_key: str | None = None,
    ) -> Step:
        """Apply one input; the answer is committed before this returns.

        `step` ties a button to the screen it was shown on; `input_key` identifies
        an update so that a redelivered one is recognised and not applied twice.
        """
        live = await self._owned(session_id, respondent)
        async with live.lock:
            if input_key is not None and live.session.last_input == input_key:
                return Step(
                    session_id, live.row.org_id, live.loaded, live.session.screen(), duplicate=True
                )
            change = await self._apply(live, action, value, step, today, input_key)
            return Step(session_id, live.row.org_id, live.loaded, live.session.screen(), change)

    async def _apply(
        self,
        live: _Live,
        action: Action,
        value: object,
        step: int | None,
        today: date,
        input_key: str | None,
    ) -> Change:
        session = live.session
        before = session.snapshot()
        try:
            change = session.apply(action, value, step=step)
            session.last_input = input_key or session.last_input
            status = (
                "done" if session.finished else "paused" if session.state == "paused" else "active"
            )
            live.revision = await self.commits.save(
                StepWrite(
                    live.row.id,
                    live.revision,
                    session.to_json(),
                    status,
                    today,
                    _row(change.upsert, live.loaded) if change.upsert else None,
                    change.removed,
                    change.finished,
                )
            )
        except StaleRevision:
            # Another process moved the session on: drop our copy and report stale.
            self._live.pop(live.row.id, None)
            raise StaleQuestion("the session changed elsewhere") from None
        except BaseException:
            live.session = before
            raise
        return change

    async def _owned(self, session_id: int, respondent: Respondent) -> _Live:
        live = await self._load(session_id)
        row = live.row
        if row.audience == "staff":
            mine = respondent.person_id is not None and row.person_id == respondent.person_id
        else:
            mine = respondent.key is not None and row.respondent_key == respondent.key
        if not mine:
            raise NotYourSession(session_id)
        return live

    async def _load(self, session_id: int) -> _Live:
        live = self._live.get(session_id)
        if live is not None:
            self._live.move_to_end(session_id)
            return live
        row = await self.sessions.get(session_id)
        if row is None:
            raise NotYourSession(session_id)
        loaded = await self.scripts.by_version_id(row.script_version_id)
        session = loaded.engine.restore(row.state_json)
        live = _Live(row, loaded, session, row.revision, asyncio.Lock())
        self._remember(live)
        return live

    def _remember(self, live: _Live) -> None:
        self._live[live.row.id] = live
        while len(self._live) > LIVE_SESSIONS:
            self._live.popitem(last=False)


def _row(answer: Answer, loaded: LoadedScript) -> AnswerRow:
    """An answer as stored: all free text a person wrote goes to `comment`.

    Follow-up comments and text answers are then one column for digests,
    retention and /forget to deal with.
    """
    value = answer.value
    if loaded.engine.questions[answer.question_id].type == "text":
        value, comment = None, answer.value if isinstance(answer.value, str) else None
    else:
        comment = answer.comment
    return AnswerRow(
        question_id=answer.question_id,
        score=answer.score,
        value_num=float(value) if isinstance(value, int | float) else None,
        value_text=value if isinstance(value, str) else None,
        value_json=json.dumps(value, ensure_ascii=False) if isinstance(value, list) else None,
        not_applicable=answer.not_applicable,
        skipped=answer.skipped,
        comment=comment,
    )
