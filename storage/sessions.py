"""Dialog sessions and their answers: every step is committed before the next question shows.

A session's `state_json` belongs to the dialog engine; storage keeps it opaque.
Steps that arrive while a commit is in flight share the next one (group commit):
each is still committed before its caller returns, and each succeeds or fails on
its own (a savepoint each); only the transaction, the hop to the database thread
and the commit are shared. Under load that is most of the cost of a step.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from storage.connection import Connection, Row
from storage.db import Database
from storage.errors import NotFound, StaleRevision, StorageError
from storage.rows import record
from storage.times import day_text, instant_text, week_end

Audience = Literal["staff", "service_user"]
Status = Literal["active", "paused", "done"]

_EXPORT_PAGE = 500
MAX_BATCH = 64  # steps committed in one transaction at most


@dataclass(frozen=True)
class SessionRow:
    id: int
    script_version_id: int
    script_id: str
    org_id: int
    unit_id: int | None
    audience: Audience
    person_id: int | None  # staff only; None once the person used /forget
    respondent_key: str | None  # service users only; None once the session is done
    period: str  # ISO week, "2026-W47"
    state_json: str
    status: Status
    revision: int
    started_on: date
    updated_on: date
    completed_on: date | None


@dataclass(frozen=True)
class OwnedSession:
    """A session with what deciding who may press its buttons needs, read in one query.

    `owner_telegram_id` is the staff member's account (None for service users, whose
    sessions carry only their keyed hash, and after /forget). `owner_language` is the
    owner's stored language, if any. `timezone` is the organisation's: it decides the
    day answers are filed under.
    """

    row: SessionRow
    owner_telegram_id: int | None
    owner_language: str | None
    timezone: str


@dataclass(frozen=True)
class AnswerRow:
    """One question's answer; `score` is the 1-5 normalised value digests average."""

    question_id: str
    score: float | None = None
    value_num: float | None = None
    value_text: str | None = None
    value_json: str | None = None  # JSON text, e.g. the chosen options of a multi question
    not_applicable: bool = False
    skipped: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class ExportRow:
    """One answer as the CSV export shows it: no person, no session, only the day."""

    script_id: str
    script_version: int
    org_name: str
    unit_name: str | None
    audience: Audience
    period: str
    answered_on: date
    question_id: str
    items: str  # the framework items of the question, "equass:participation;cz-sqss:5"
    score: float | None
    value_num: float | None
    value_text: str | None
    value_json: str | None
    not_applicable: bool
    skipped: bool
    comment: str | None


_SESSION = (
    "SELECT s.*, v.script_id FROM sessions s JOIN script_versions v ON v.id = s.script_version_id"
)
_OWNED = (
    "SELECT s.*, v.script_id, p.telegram_id AS owner_telegram_id,"
    " coalesce(p.language, r.language) AS owner_language, o.timezone"
    " FROM sessions s JOIN script_versions v ON v.id = s.script_version_id"
    " JOIN organisations o ON o.id = s.org_id"
    " LEFT JOIN people p ON p.id = s.person_id"
    " LEFT JOIN respondent_prefs r ON r.respondent_key = s.respondent_key"
)

_STEP = (
    "UPDATE sessions SET state_json = ?, status = ?, revision = revision + 1, updated_on = ?,"
    " completed_on = ? WHERE id = ? AND revision = ? AND status <> 'done'"
    " RETURNING revision, org_id, unit_id, audience, period, script_version_id, respondent_key"
)

_UPSERT = (
    "INSERT INTO answers (session_id, question_id, score, value_num, value_text, value_json,"
    " not_applicable, skipped, comment, answered_on, org_id, unit_id, audience, period,"
    " script_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (session_id, question_id) DO UPDATE SET score = excluded.score,"
    " value_num = excluded.value_num, value_text = excluded.value_text,"
    " value_json = excluded.value_json, not_applicable = excluded.not_applicable,"
    " skipped = excluded.skipped, comment = excluded.comment, answered_on = excluded.answered_on"
)

# An answer's framework items as one "framework:item;..." text, in order.
_ITEMS = {
    "sqlite": (
        "coalesce((SELECT group_concat(link, ';') FROM ("
        "   SELECT q.framework || ':' || q.item_id AS link FROM question_items q"
        "   WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id"
        "   ORDER BY q.framework, q.item_id)), '')"
    ),
    "postgresql": (
        "coalesce((SELECT string_agg(q.framework || ':' || q.item_id, ';'"
        "   ORDER BY q.framework, q.item_id) FROM question_items q"
        "   WHERE q.script_version_id = a.script_version_id AND q.question_id = a.question_id),"
        " '')"
    ),
}
_EXPORT = (
    "SELECT a.id, v.script_id, v.version AS script_version, o.name AS org_name,"
    " u.name AS unit_name, a.audience, a.period, a.answered_on, a.question_id,"
    " {items} AS items,"
    " a.score, a.value_num, a.value_text, a.value_json, a.not_applicable, a.skipped, a.comment"
    " FROM answers a"
    " JOIN script_versions v ON v.id = a.script_version_id"
    " JOIN organisations o ON o.id = a.org_id"
    " LEFT JOIN units u ON u.id = a.unit_id"
    " WHERE a.id > ?1 AND (CAST(?2 AS BIGINT) IS NULL OR a.org_id = ?2)"
    " AND (CAST(?3 AS TEXT) IS NULL OR a.answered_on >= ?3)"
    " ORDER BY a.id LIMIT ?4"
)


def _session(row: Row) -> SessionRow:
    return record(SessionRow, row)


def _owned(row: Row) -> OwnedSession:
    return OwnedSession(
        _session(row), row["owner_telegram_id"], row["owner_language"], row["timezone"]
    )


def _answer(row: Row) -> AnswerRow:
    return record(AnswerRow, row)


def _export(row: Row) -> ExportRow:
    return record(ExportRow, row)


def period_key(respondent_key: str, period: str) -> str:
    """The respondent's key for one period only.

    Marks of different periods then carry different keys, so they cannot be joined
    to follow one person's participation over time.
    """
    return hmac.new(respondent_key.encode(), period.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SubmissionMark:
    """The period a finished feedback is marked under, and the last day the mark is kept.

    The period is the organisation's window ("2026-W45+8"): once a window, since a
    window's digest counts each session of a service user as a respondent.
    """

    period: str
    until: date


@dataclass(frozen=True)
class SignalWrite:
    """A safeguarding rule the step's answer made hold: what the alert will name.

    The session's organisation, unit and the day come from the session row; nothing
    that leads back to the session is written with it.
    """

    question_id: str
    answer: str
    due_at: datetime


@dataclass(frozen=True)
class StepWrite:
    """One dialog step to commit: the session's new state and what it did to its answers.

    `mark` is what a service user's finished feedback is marked under; without one,
    the session's own week.
    """

    session_id: int
    expected_revision: int
    state_json: str
    status: Status
    today: date
    upsert: AnswerRow | None = None
    delete_questions: tuple[str, ...] = ()
    complete: bool = False
    mark: SubmissionMark | None = None
    signal: SignalWrite | None = None

    def __post_init__(self) -> None:
        if (self.status == "done") != self.complete:
            raise ValueError("status 'done' and complete=True go together")
        if self.upsert is not None and self.upsert.question_id in self.delete_questions:
            raise ValueError("cannot write and delete the same question in one step")


def _write_step(conn: Connection, write: StepWrite, erased: list[bool]) -> int:
    """The statements of one step, inside the caller's transaction; the new revision."""
    on = day_text(write.today)
    session = conn.execute(
        _STEP,
        (
            write.state_json,
            write.status,
            on,
            on if write.complete else None,
            write.session_id,
            write.expected_revision,
        ),
    ).fetchone()
    if session is None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (write.session_id,)).fetchone():
            raise StaleRevision(write.session_id, write.expected_revision)
        raise NotFound(f"session {write.session_id} does not exist")
    upsert = write.upsert
    if upsert is not None:
        conn.execute(
            _UPSERT,
            (
                write.session_id,
                upsert.question_id,
                upsert.score,
                upsert.value_num,
                upsert.value_text,
                upsert.value_json,
                int(upsert.not_applicable),
                int(upsert.skipped),
                upsert.comment,
                on,
                session["org_id"],
                session["unit_id"],
                session["audience"],
                session["period"],
                session["script_version_id"],
            ),
        )
    if write.delete_questions:
        conn.executemany(
            "DELETE FROM answers WHERE session_id = ? AND question_id = ?",
            [(write.session_id, q) for q in sorted(set(write.delete_questions))],
        )
    if write.signal is not None:
        conn.execute(
            "INSERT INTO safeguarding_signals (org_id, unit_id, day, script_version_id,"
            " question_id, answer, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session["org_id"],
                session["unit_id"],
                on,
                session["script_version_id"],
                write.signal.question_id,
                write.signal.answer,
                instant_text(write.signal.due_at),
            ),
        )
    if write.complete and session["respondent_key"] is not None:
        mark = write.mark or SubmissionMark(session["period"], week_end(session["period"]))
        conn.execute(
            "INSERT INTO submissions (respondent_key, script_id, org_id, period, until)"
            " SELECT ?, script_id, ?, ?, ? FROM script_versions WHERE id = ?"
            " ON CONFLICT DO NOTHING",
            (
                period_key(session["respondent_key"], mark.period),
                session["org_id"],
                mark.period,
                day_text(mark.until),
                session["script_version_id"],
            ),
        )
        conn.execute("UPDATE sessions SET respondent_key = NULL WHERE id = ?", (write.session_id,))
        erased.append(True)
    return int(session["revision"])


def _owner(person_id: int | None, respondent_key: str | None) -> tuple[str, object]:
    """The column and value that pick one person's (or respondent's) sessions."""
    if (person_id is None) == (respondent_key is None):
        raise ValueError("pass exactly one of person_id and respondent_key")
    if person_id is not None:
        return "s.person_id", person_id
    return "s.respondent_key", respondent_key


class SessionStore(Protocol):
    """What the dialog service needs of a session store: the database, or memory (previews)."""

    async def load(self, session_id: int) -> OwnedSession | None: ...

    async def latest_open_of(
        self, telegram_id: int, respondent_key: str
    ) -> OwnedSession | None: ...

    async def find_open(
        self,
        *,
        person_id: int | None = None,
        respondent_key: str | None = None,
        script_id: str,
        org_id: int,
        period: str,
    ) -> SessionRow | None: ...

    async def create(
        self,
        script_version_id: int,
        org_id: int,
        unit_id: int | None,
        audience: Audience,
        person_id: int | None,
        respondent_key: str | None,
        period: str,
        state_json: str,
        today: date,
        respondent_mark: str | None = None,
    ) -> SessionRow: ...

    async def save(self, write: StepWrite) -> int: ...

    async def has_submitted(
        self, respondent_key: str, script_id: str, org_id: int, period: str
    ) -> bool: ...

    async def completed(self, person_id: int, org_id: int, period: str) -> bool: ...

    async def get_rotation(self, person_id: int, script_id: str) -> tuple[int, frozenset[str]]: ...

    async def set_rotation(
        self, person_id: int, script_id: str, cycle: int, asked: Iterable[str]
    ) -> None: ...


class SessionRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[StepWrite, asyncio.Future[int]]] = []
        self._draining = False

    async def create(
        self,
        script_version_id: int,
        org_id: int,
        unit_id: int | None,
        audience: Audience,
        person_id: int | None,
        respondent_key: str | None,
        period: str,
        state_json: str,
        today: date,
        respondent_mark: str | None = None,
    ) -> SessionRow:
        """Start a session: staff ones carry `person_id`, service-user ones `respondent_key`.

        `respondent_mark` is the keyed mark of the account in this organisation and
        window: if the account used /forget earlier in the window, the session takes
        the token its earlier sessions carry, so they all count as one respondent.
        """
        if audience == "staff" and (person_id is None or respondent_key is not None):
            raise ValueError("a staff session needs a person_id and no respondent_key")
        if audience == "service_user" and (respondent_key is None or person_id is not None):
            raise ValueError("a service-user session needs a respondent_key and no person_id")
        on = day_text(today)

        def create(conn: Connection) -> Row:
            session_id = conn.execute(
                "INSERT INTO sessions (script_version_id, org_id, unit_id, audience, person_id,"
                " respondent_key, period, state_json, started_on, updated_on, respondent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " (SELECT token FROM respondent_marks WHERE mark = ?)) RETURNING id",
                (
                    script_version_id,
                    org_id,
                    unit_id,
                    audience,
                    person_id,
                    respondent_key,
                    period,
                    state_json,
                    on,
                    on,
                    respondent_mark,
                ),
            ).fetchone()[0]
            created: Row = conn.execute(_SESSION + " WHERE s.id = ?", (session_id,)).fetchone()
            return created

        return _session(await self._db.run(create))

    async def get(self, session_id: int) -> SessionRow | None:
        row = await self._db.fetchone(_SESSION + " WHERE s.id = ?", (session_id,))
        return None if row is None else _session(row)

    async def load(self, session_id: int) -> OwnedSession | None:
        """The session with its owner's account and language and its organisation's zone."""
        row = await self._db.fetchone(_OWNED + " WHERE s.id = ?", (session_id,))
        return None if row is None else _owned(row)

    async def latest_open_of(self, telegram_id: int, respondent_key: str) -> OwnedSession | None:
        """The newest unfinished session of an account: as staff, or under its keyed hash."""
        row = await self._db.fetchone(
            _OWNED + " WHERE s.status <> 'done' AND (s.respondent_key = ?"
            " OR s.person_id = (SELECT id FROM people WHERE telegram_id = ?))"
            " ORDER BY s.id DESC LIMIT 1",
            (respondent_key, telegram_id),
        )
        return None if row is None else _owned(row)

    async def find_open(
        self,
        *,
        person_id: int | None = None,
        respondent_key: str | None = None,
        script_id: str,
        org_id: int,
        period: str,
    ) -> SessionRow | None:
        """The newest unfinished session of this person (or respondent) for a script and period."""
        who, value = _owner(person_id, respondent_key)
        row = await self._db.fetchone(
            _SESSION + f" WHERE {who} = ? AND s.org_id = ? AND s.period = ?"
            " AND s.status <> 'done' AND v.script_id = ? ORDER BY s.id DESC LIMIT 1",
            (value, org_id, period, script_id),
        )
        return None if row is None else _session(row)

    async def save_step(
        self,
        session_id: int,
        expected_revision: int,
        state_json: str,
        status: Status,
        today: date,
        upsert: AnswerRow | None = None,
        delete_question: str | None = None,
        complete: bool = False,
        delete_questions: Iterable[str] = (),
    ) -> int:
        """Commit one dialog step atomically and return the session's new revision.

        One transaction, one worker-thread hop: the revision check, the answer
        (written twice = still one row), the removal of answers the dialog went
        back over or now hides (`delete_question` and/or `delete_questions`),
        and on completion the service user's submission record
        plus the erasure of their respondent key. Raises `StaleRevision`, with
        nothing written, if the session moved on or is already done.
        """
        doomed = (*delete_questions, *([delete_question] if delete_question else []))
        write = StepWrite(
            session_id, expected_revision, state_json, status, today, upsert, doomed, complete
        )
        erased: list[bool] = []
        return await self._db.run(
            lambda conn: _write_step(conn, write, erased), scrub=lambda _: any(erased)
        )

    async def save(self, write: StepWrite) -> int:
        """Commit the step (with whatever else is waiting); its new revision, or its error."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    results = await self.save_steps([write for write, _ in batch])
                except BaseException as error:  # the transaction itself failed: all of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if isinstance(error, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue  # its caller was cancelled; the step is committed regardless
                    if isinstance(result, StorageError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = False

    async def save_steps(self, writes: Sequence[StepWrite]) -> list[int | StorageError]:
        """Commit several sessions' steps in one transaction, each under its own savepoint.

        Each step succeeds or fails alone (a stale one is rolled back to its
        savepoint and reported), and all that succeed are durable together when
        this returns: the group commit behind `save`.
        """

        erased: list[bool] = []  # a service user's key left a finished session

        def steps(conn: Connection) -> list[int | StorageError]:
            results: list[int | StorageError] = []
            for write in writes:
                conn.execute("SAVEPOINT step")
                try:
                    results.append(_write_step(conn, write, erased))
                except StorageError as error:
                    conn.execute("ROLLBACK TO step")
                    results.append(error)
                conn.execute("RELEASE step")
            return results

        # The key must not stay in the files beside the answers it no longer leads to.
        return await self._db.run(steps, scrub=lambda _: any(erased))

    async def answers(self, session_id: int) -> list[AnswerRow]:
        rows = await self._db.fetchall(
            "SELECT * FROM answers WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [_answer(row) for row in rows]

    async def has_submitted(
        self, respondent_key: str, script_id: str, org_id: int, period: str
    ) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM submissions WHERE respondent_key = ? AND script_id = ?"
            " AND org_id = ? AND period = ?",
            (period_key(respondent_key, period), script_id, org_id, period),
        )
        return row is not None

    async def get_rotation(self, person_id: int, script_id: str) -> tuple[int, frozenset[str]]:
        """(cycle, questions already asked in it); (0, {}) before the first session."""
        row = await self._db.fetchone(
            "SELECT cycle, asked_json FROM rotations WHERE person_id = ? AND script_id = ?",
            (person_id, script_id),
        )
        if row is None:
            return 0, frozenset()
        return int(row["cycle"]), frozenset(json.loads(row["asked_json"]))

    async def set_rotation(
        self, person_id: int, script_id: str, cycle: int, asked: Iterable[str]
    ) -> None:
        await self._db.execute(
            "INSERT INTO rotations (person_id, script_id, cycle, asked_json) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (person_id, script_id) DO UPDATE SET cycle = excluded.cycle,"
            " asked_json = excluded.asked_json",
            (person_id, script_id, cycle, json.dumps(sorted(set(asked)))),
        )

    async def iter_answers(
        self, org_id: int | None = None, since: date | None = None
    ) -> AsyncIterator[ExportRow]:
        """Every answer (of one organisation, answered on or after `since`), oldest first.

        Read in pages, so an export of years of answers neither holds the whole
        table in memory nor keeps a read open across other sessions' writes.
        """
        after = 0
        since_text = None if since is None else day_text(since)
        sql = _EXPORT.format(items=_ITEMS[self._db.dialect])
        while True:
            rows = await self._db.fetchall(sql, (after, org_id, since_text, _EXPORT_PAGE))
            for row in rows:
                yield _export(row)
            if len(rows) < _EXPORT_PAGE:
                return
            after = rows[-1]["id"]

    async def latest_open(
        self, *, person_id: int | None = None, respondent_key: str | None = None
    ) -> SessionRow | None:
        """The newest unfinished session of a person or respondent, whatever its script."""
        who, value = _owner(person_id, respondent_key)
        row = await self._db.fetchone(
            _SESSION + f" WHERE {who} = ? AND s.status <> 'done' ORDER BY s.id DESC LIMIT 1",
            (value,),
        )
        return None if row is None else _session(row)

    async def completed(self, person_id: int, org_id: int, period: str) -> bool:
        """Whether the person finished a session in this organisation and period."""
        row = await self._db.fetchone(
            "SELECT 1 FROM sessions WHERE person_id = ? AND org_id = ? AND period = ?"
            " AND status = 'done' LIMIT 1",
            (person_id, org_id, period),
        )
        return row is not None
