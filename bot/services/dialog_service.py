"""One call per input: everything a press or a typed answer in a dialog means.

Who is answering and whether the session is theirs, the day the answer is filed
under, which option a button stands for (the engine's choices), the commit before
the next screen, and what a finished session shows: adapters (Telegram, the
console, an admin's preview) decode an input, call `begin`, `press` or `typed`
once, and render the `Reply`.

Live sessions stay in memory between inputs; the store stays the truth, so a
restart loses nothing and a failed commit rolls the in-memory session back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cachetools import LRUCache

from bot.infra.i18n import DEFAULT_LANGUAGE, pick_language
from bot.services.comment_replies import Offer
from bot.services.digests.digest_windows import Window
from bot.services.org_calendar import OrgCalendar
from bot.services.periods import iso_week, local_today
from bot.services.respondents import window_mark
from bot.services.safeguarding import signal_of
from bot.services.script_registry import LoadedScript, ScriptRegistry
from dialogs.engine import Action, Answer, Change, Screen, Session
from dialogs.rotation import plan_session
from dialogs.step_errors import DialogError, SessionFinished, StaleQuestion
from storage.errors import StaleRevision
from storage.sessions import (
    AnswerRow,
    OwnedSession,
    SessionRow,
    SessionStore,
    Status,
    StepWrite,
    SubmissionMark,
)
from storage.times import Clock

LIVE_SESSIONS = 20_000
START_LOCKS = 64
# Refusals meaning the pressed message is behind the dialog (an earlier question, a
# finished or paused session): its current screen is shown, so a person whose screen
# missed an edit (it failed, or the bot restarted in between) can carry on.
BEHIND = frozenset({"stale", "finished", "paused"})

# "What we changed after your feedback" lines for an organisation, on a day.
ChangesFor = Callable[[int, date], Awaitable[list[str]]]
# The organisation's safeguarding help text in a language (`bot.services.safeguarding`).
HelpFor = Callable[[int, str], Awaitable[str]]
Keyer = Callable[[int], str]  # a Telegram id -> the keyed hash service users are known by
# The reply opt-ins for the comments of a session just finished: (Telegram id, session id).
OffersFor = Callable[[int, int], Awaitable[list[Offer]]]


class AlreadySubmitted(Exception):
    """The respondent answered this script in this period already: a staff member this
    week, a service user this window of their organisation. `again_on` is the first
    day they may answer again."""

    def __init__(self, script_id: str, again_on: date) -> None:
        super().__init__(script_id, again_on)
        self.script_id = script_id
        self.again_on = again_on


class NotYourSession(DialogError):
    """The session belongs to someone else (forged or foreign button), or to nobody now."""

    code = "not_yours"


class PreviewEnded(NotYourSession):
    """An admin's preview that was published, discarded or let go of."""

    code = "preview_ended"


class NothingOpen(DialogError):
    """Typed text, but no dialog of the sender's is under way."""

    code = "nothing_open"


class UseTheButtons(DialogError):
    """Typed text where the screen asks for a button."""

    code = "use_buttons"


@dataclass(frozen=True, slots=True)
class Respondent:
    """Who answers: staff by person id; service users only by their keyed hash."""

    telegram_id: int
    person_id: int | None = None
    key: str | None = None

    @property
    def audience(self) -> str:
        return "service_user" if self.key is not None else "staff"


@dataclass(frozen=True, slots=True)
class Press:
    """One input to a session: a button (with the choice's `token`) or a typed `value`.

    `step` ties a button to the screen it was shown on; `input_key` names an update,
    so one delivered twice is applied once. `shown_sessions` gives the sessions whose
    buttons the pressed message carries, as Telegram (not the client) reports it;
    it is asked only when a press is not on the presser's own session.
    """

    telegram_id: int
    session_id: int
    action: Action
    step: int | None = None
    token: str | None = None
    value: object = None
    input_key: str | None = None
    language_code: str | None = None
    shown_sessions: Callable[[], frozenset[int]] = frozenset


@dataclass(frozen=True, slots=True)
class Step:
    """A session's screen, for the renderer; `changes` close a service user's feedback.

    `offers`: the comments of a session just finished may get anonymous replies, if
    their author agrees (asked once the session is over, so nothing interrupts it).
    `help` is the organisation's safeguarding help text, when this step's answer made a
    safeguarding rule hold: shown at once, before the next question.
    """

    session_id: int
    org_id: int
    loaded: LoadedScript
    screen: Screen
    change: Change | None = None
    resumed: bool = False
    duplicate: bool = False
    changes: tuple[str, ...] = ()
    offers: tuple[Offer, ...] = ()
    help: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What an input came to: the screen to show (if any) and why nothing changed (if so)."""

    language: str
    step: Step | None = None
    refusal: DialogError | None = None


@dataclass
class _Live:
    row: SessionRow
    loaded: LoadedScript
    session: Session
    revision: int
    owner: int  # the Telegram id whose buttons these are
    language: str | None
    timezone: str
    lock: asyncio.Lock


class DialogService:
    def __init__(
        self,
        store: SessionStore,
        scripts: ScriptRegistry,
        calendar: OrgCalendar,
        clock: Clock,
        keyer: Keyer,
        changes_for: ChangesFor | None = None,
        help_for: HelpFor | None = None,
        live_sessions: int = LIVE_SESSIONS,
        gone: type[NotYourSession] = NotYourSession,
        offers_for: OffersFor | None = None,
    ) -> None:
        self.store = store
        self.scripts = scripts
        self.calendar = calendar
        self.clock = clock
        self.keyer = keyer
        self.changes_for = changes_for
        self.offers_for = offers_for
        self.help_for = help_for
        self.gone = gone  # what a session that is nowhere to be found is called
        self._live: LRUCache[int, _Live] = LRUCache(maxsize=live_sessions)
        # One start at a time per respondent: two at once (a double tap, two /checkin)
        # would otherwise both find no open session and create two. A fixed set of
        # locks shared by hash: bounded memory, rare contention.
        self._starting = [asyncio.Lock() for _ in range(START_LOCKS)]

    # ---------------------------------------------------------------- starting

    async def begin(
        self,
        *,
        script_id: str,
        org_id: int,
        unit_id: int | None,
        respondent: Respondent,
        language: str | None = None,
    ) -> Step:
        """Resume this period's open session of the script, or start a new one."""
        async with self._starting[hash(respondent) % START_LOCKS]:
            return await self._begin(script_id, org_id, unit_id, respondent, language)

    async def _begin(
        self,
        script_id: str,
        org_id: int,
        unit_id: int | None,
        respondent: Respondent,
        language: str | None,
    ) -> Step:
        timezone = await self.calendar.timezone(org_id)
        today = local_today(self.clock(), timezone)
        period = iso_week(today)
        open_row = await self.store.find_open(
            script_id=script_id,
            org_id=org_id,
            period=period,
            person_id=respondent.person_id,
            respondent_key=respondent.key,
        )
        if open_row is not None:
            stored = OwnedSession(open_row, respondent.telegram_id, language, timezone)
            live = await self._remember(stored, respondent.telegram_id)
            async with live.lock:
                if live.session.state == "paused":
                    await self._apply(live, Press(respondent.telegram_id, open_row.id, "resume"))
                return replace(self._step(live), resumed=True)
        loaded = await self.scripts.active(script_id, org_id)
        script = loaded.script
        window = (await self.calendar.plan(org_id)).window_of(today)
        if not script.resubmit:
            again_on = await self._again_on(respondent, script_id, org_id, today, window)
            if again_on is not None:
                raise AlreadySubmitted(script_id, again_on)
        mark = None
        if respondent.person_id is not None:
            cycle, asked = await self.store.get_rotation(respondent.person_id, script_id)
            plan = plan_session(script, cycle=cycle, asked=asked, seed=str(respondent.person_id))
            mark = window_mark(self.keyer(respondent.telegram_id), org_id, window)
        else:
            plan = plan_session(script)
        step = await self.start(
            loaded, respondent, org_id, unit_id, language, plan.question_ids, mark
        )
        if respondent.person_id is not None:
            await self.store.set_rotation(
                respondent.person_id, script_id, plan.cycle, plan.asked_in_cycle
            )
        return step

    async def start(
        self,
        loaded: LoadedScript,
        respondent: Respondent,
        org_id: int,
        unit_id: int | None,
        language: str | None,
        plan: Sequence[str] | None = None,
        respondent_mark: str | None = None,
    ) -> Step:
        """A new session of `loaded`; an admin's preview starts its draft here directly.

        `respondent_mark`: a staff member's mark in the window, so a session after an
        earlier /forget in it counts as the same respondent (`respondents.py`).
        """
        timezone = await self.calendar.timezone(org_id) if org_id else "UTC"
        today = local_today(self.clock(), timezone)
        session = loaded.engine.start(None if plan is None else list(plan))
        row = await self.store.create(
            script_version_id=loaded.version.id if loaded.version else 0,
            org_id=org_id,
            unit_id=unit_id,
            audience="service_user" if respondent.key is not None else "staff",
            person_id=respondent.person_id,
            respondent_key=respondent.key,
            period=iso_week(today),
            state_json=session.to_json(),
            today=today,
            respondent_mark=respondent_mark,
        )
        live = _Live(
            row,
            loaded,
            session,
            row.revision,
            respondent.telegram_id,
            language,
            timezone,
            asyncio.Lock(),
        )
        self._live[row.id] = live
        return self._step(live)

    async def _again_on(
        self, respondent: Respondent, script_id: str, org_id: int, today: date, window: Window
    ) -> date | None:
        """Once a period each, or a person would weigh twice in the digest; None: they may.

        Service users once a window: their sessions cannot be linked, so each counts as
        a respondent of the window. Staff once a week, counted as one person over the
        window; the week's mark under their keyed hash outlives /forget, so rejoining
        with the same account does not make a second check-in possible.
        """
        if respondent.key is not None:
            if await self.store.has_submitted(respondent.key, script_id, org_id, window.label):
                return window.end + timedelta(days=1)
            return None
        assert respondent.person_id is not None
        week = iso_week(today)
        next_week = today + timedelta(days=7 - today.weekday())
        if await self.store.completed(respondent.person_id, org_id, week):
            return next_week
        key = self.keyer(respondent.telegram_id)
        if await self.store.has_submitted(key, script_id, org_id, week):
            return next_week
        return None

    # ---------------------------------------------------------------- inputs

    async def press(self, press: Press) -> Reply:
        """Apply one input to its session; the answer is committed before this returns."""
        for retry in (False, True):
            try:
                live = await self._owned(press.session_id, press.telegram_id)
            except NotYourSession as refusal:
                return await self._not_owned(press, refusal)
            language = self._language(live, press)
            behind: DialogError | None = None
            async with live.lock:
                if press.input_key is not None and live.session.last_input == press.input_key:
                    return Reply(language, replace(self._step(live), duplicate=True))
                try:
                    change = await self._apply(live, press)
                except DialogError as refusal:
                    if refusal.code not in BEHIND:
                        return Reply(language, None, refusal)
                    behind = refusal
            if behind is None:
                break
            # The copy in memory may be what was behind: another replica (or process)
            # moved the session on. If it did, the press is tried once more on the
            # stored session; a press that is stale there too (a double tap) is not.
            if not retry and await self._moved_elsewhere(live):
                continue
            try:
                live = await self._owned(press.session_id, press.telegram_id)
            except NotYourSession as gone:
                return Reply(language, None, gone)
            return Reply(language, await self._shown(live), behind)
        step = await self._shown(live, change)
        if change.safeguarding is not None and self.help_for is not None:
            step = replace(step, help=await self.help_for(live.row.org_id, language))
        return Reply(language, step)

    async def _moved_elsewhere(self, live: _Live) -> bool:
        """Whether the stored session is at another revision than our copy (then dropped)."""
        stored = await self.store.load(live.row.id)
        if stored is None or stored.row.revision == live.revision:
            return False
        if self._live.get(live.row.id) is live:
            self._live.pop(live.row.id, None)
        return True

    async def typed(
        self, telegram_id: int, text: str, input_key: str, language_code: str | None = None
    ) -> Reply:
        """A typed message: the answer to the text question or follow-up on screen, if any."""
        stored = await self.store.latest_open_of(telegram_id, self.keyer(telegram_id))
        if stored is None:
            return Reply(self._fallback(language_code), None, NothingOpen("no open session"))
        live = await self._remember(stored, telegram_id)
        screen = live.session.screen()
        if not _wants_text(screen):
            return Reply(self._language(live, None), None, UseTheButtons("a button is expected"))
        press = Press(
            telegram_id, live.row.id, "answer", value=text, input_key=input_key,
            language_code=language_code,
        )  # fmt: skip
        reply = await self.press(press)
        if reply.step is not None and reply.step.duplicate:
            return replace(reply, step=None)
        return reply

    async def wants_text(self, session_id: int, telegram_id: int) -> bool:
        """Whether the session's screen waits for a typed message (an admin's preview asks)."""
        try:
            live = await self._owned(session_id, telegram_id)
        except NotYourSession:
            return False
        return _wants_text(live.session.screen())

    # ---------------------------------------------------------------- people change

    def set_language(self, telegram_id: int, language: str) -> None:
        """The person chose another language: their sessions in memory speak it from now."""
        for live in self._live.values():
            if live.owner == telegram_id:
                live.language = language

    def end(self, session_id: int) -> None:
        """Let go of a session in memory (an admin's preview, once its draft is gone)."""
        self._live.pop(session_id, None)

    def forget(self, telegram_id: int) -> None:
        """The person used /forget: nothing in memory leads from them to a session."""
        for session_id in [i for i, live in self._live.items() if live.owner == telegram_id]:
            self._live.pop(session_id, None)

    # ---------------------------------------------------------------- internals

    async def _apply(self, live: _Live, press: Press) -> Change:
        session = live.session
        before = session.snapshot()
        try:
            change = session.apply(press.action, press.value, step=press.step, token=press.token)
            session.last_input = press.input_key or session.last_input
            status: Status = (
                "done" if session.finished else "paused" if session.state == "paused" else "active"
            )
            today = local_today(self.clock(), live.timezone)
            mark = None
            if change.finished and live.row.respondent_key is not None:
                # Marked under the window of the day it was finished: "once a window".
                window = (await self.calendar.plan(live.row.org_id)).window_of(today)
                mark = SubmissionMark(window.label, window.end)
            live.revision = await self.store.save(
                StepWrite(
                    live.row.id,
                    live.revision,
                    session.to_json(),
                    status,
                    today,
                    _row(change.upsert, live.loaded) if change.upsert else None,
                    change.removed,
                    change.finished,
                    mark,
                    signal_of(change.upsert, self.clock()) if change.safeguarding else None,
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

    async def _owned(self, session_id: int, telegram_id: int) -> _Live:
        live = self._live.get(session_id)
        if live is None:
            stored = await self.store.load(session_id)
            if stored is None:
                raise self.gone(f"no session {session_id}")
            live = await self._remember(stored, telegram_id)
        if live.owner != telegram_id:
            raise NotYourSession(f"session {session_id} is someone else's")
        return live

    async def _remember(self, stored: OwnedSession, telegram_id: int) -> _Live:
        """The live copy of a stored session, with whose buttons it shows."""
        live = self._live.get(stored.row.id)
        if live is not None and live.revision >= stored.row.revision:
            return live
        # Not in memory, or our copy is behind one another replica stored: read afresh.
        row = stored.row
        if row.audience == "staff":
            owner = stored.owner_telegram_id
        else:
            owner = telegram_id if row.respondent_key == self.keyer(telegram_id) else None
        if owner is None:
            # A stranger's press, or a session nobody owns any more: nothing is kept.
            raise NotYourSession(f"session {row.id} is not {telegram_id}'s")
        loaded = await self.scripts.by_version_id(row.script_version_id)
        session = loaded.engine.restore(row.state_json)
        live = _Live(
            row,
            loaded,
            session,
            row.revision,
            owner,
            stored.owner_language,
            stored.timezone,
            asyncio.Lock(),
        )
        self._live[row.id] = live
        return live

    async def _not_owned(self, press: Press, refusal: NotYourSession) -> Reply:
        """A press on a session that is not the presser's, or no longer anyone's.

        Finishing erases a service user's key from their session, so nothing stored
        shows whose it was. The pressed message can: Telegram reports it, and only
        the respondent's chat has a message with this session's buttons. Their
        thank-you may never have arrived (a failed edit, a restart), so it is shown.
        """
        language = self._fallback(press.language_code)
        if press.session_id not in press.shown_sessions():
            return Reply(language, None, refusal)
        stored = await self.store.load(press.session_id)
        if stored is None:
            return Reply(language, None, refusal)
        row = stored.row
        if row.audience != "service_user" or row.status != "done":
            return Reply(language, None, refusal)
        loaded = await self.scripts.by_version_id(row.script_version_id)
        screen = loaded.engine.restore(row.state_json).screen()
        changes = await self._changes(row.org_id, local_today(self.clock(), stored.timezone))
        language = stored.owner_language or language
        step = Step(row.id, row.org_id, loaded, screen, changes=changes)
        return Reply(language, step, SessionFinished("the session is finished"))

    def _step(self, live: _Live, change: Change | None = None) -> Step:
        return Step(live.row.id, live.row.org_id, live.loaded, live.session.screen(), change)

    async def _shown(self, live: _Live, change: Change | None = None) -> Step:
        """The screen after an input; a service user's finished feedback says what changed.

        A session this input finished offers anonymous replies to its comments.
        """
        step = self._step(live, change)
        if change is not None and change.finished and self.offers_for is not None:
            step = replace(step, offers=tuple(await self.offers_for(live.owner, live.row.id)))
        if step.screen.phase != "done" or live.row.audience != "service_user":
            return step
        today = local_today(self.clock(), live.timezone)
        return replace(step, changes=await self._changes(live.row.org_id, today))

    async def _changes(self, org_id: int, today: date) -> tuple[str, ...]:
        if self.changes_for is None:
            return ()
        return tuple(await self.changes_for(org_id, today))

    def _language(self, live: _Live, press: Press | None) -> str:
        return live.language or self._fallback(press.language_code if press else None)

    @staticmethod
    def _fallback(language_code: str | None) -> str:
        return pick_language(language_code) or DEFAULT_LANGUAGE


def _wants_text(screen: Screen) -> bool:
    """Whether the screen waits for a typed message rather than a button."""
    if screen.phase == "follow_up":
        return True
    return (
        screen.phase == "asking" and screen.question is not None and screen.question.type == "text"
    )


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
