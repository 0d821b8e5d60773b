"""What is stored about one person, erasing it, and the deletion of old comments.

A staff member is a row in `people` with roles, a rotation, a log of reminders and
sessions that point at them. A service user is nothing but a keyed hash
(`respondent_key`): on a language choice and on unfinished feedback, and, made
anew for each period (`period_key`), on the marks that they answered in it. Answers
never carry either once a person has left: they stay in the aggregates with nothing
that leads back.

Marks outlive /forget until their `until` day (a period's last day), or /forget
would reset "once a window" and "once a week"; then retention deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from storage.connection import Connection, Row
from storage.db import Database
from storage.rows import record
from storage.sessions import period_key
from storage.times import day, day_text


@dataclass(frozen=True)
class Role:
    org: str | None  # None: every organisation (a global admin)
    unit: str | None
    role: str


@dataclass(frozen=True)
class StaffRecord:
    """Everything stored under a staff member's person row."""

    telegram_id: int
    language: str
    active: bool  # gets the weekly check-in
    roles: tuple[Role, ...]
    sessions: int
    answers: int
    comments: int
    reminder_pending: bool
    invites_made: int


@dataclass(frozen=True)
class RespondentRecord:
    """Everything stored under a service user's keyed hash."""

    language: str | None
    open_sessions: int
    open_answers: int
    # The last day each mark "answered in this period" is kept: /forget leaves them.
    answered: tuple[date, ...] = ()
    # The last day each mark "these sessions are one respondent's" is kept (staff).
    counted: tuple[date, ...] = ()

    @property
    def deletable(self) -> bool:
        """Whether /forget has anything to delete here (marks stay until their day)."""
        return self.language is not None or self.open_sessions > 0

    @property
    def empty(self) -> bool:
        return not self.deletable and not self.answered and not self.counted


_ROLES = (
    "SELECT o.name AS org, u.name AS unit, m.role FROM memberships m"
    " LEFT JOIN organisations o ON o.id = m.org_id LEFT JOIN units u ON u.id = m.unit_id"
    " WHERE m.person_id = ? ORDER BY coalesce(o.name, ''), coalesce(u.name, ''), m.role"
)
_STAFF_ANSWERS = (
    "SELECT count(DISTINCT s.id) AS sessions, count(a.id) AS answers,"
    " count(a.comment) AS comments"
    " FROM sessions s LEFT JOIN answers a ON a.session_id = s.id WHERE s.person_id = ?"
)


class PrivacyRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def staff_record(self, person_id: int) -> StaffRecord | None:
        def read(conn: Connection) -> StaffRecord | None:
            person = conn.execute("SELECT * FROM people WHERE id = ?", (person_id,)).fetchone()
            if person is None:
                return None
            roles = tuple(record(Role, r) for r in conn.execute(_ROLES, (person_id,)))
            counts = conn.execute(_STAFF_ANSWERS, (person_id,)).fetchone()
            snoozed = conn.execute("SELECT 1 FROM snoozes WHERE person_id = ?", (person_id,))
            invites = conn.execute(
                "SELECT count(*) FROM invites WHERE created_by = ?", (person_id,)
            ).fetchone()[0]
            return StaffRecord(
                telegram_id=person["telegram_id"],
                language=person["language"],
                active=bool(person["active"]),
                roles=roles,
                sessions=counts["sessions"],
                answers=counts["answers"],
                comments=counts["comments"],
                reminder_pending=snoozed.fetchone() is not None,
                invites_made=invites,
            )

        return await self._db.run(read)

    async def respondent_record(
        self, respondent_key: str, window_marks: Iterable[str] = ()
    ) -> RespondentRecord:
        """What the key leads to; `window_marks` are the account's possible marks of the
        windows in progress (one per organisation), since only their maker finds them."""
        marks = sorted(set(window_marks))

        def read(conn: Connection) -> RespondentRecord:
            language = conn.execute(
                "SELECT language FROM respondent_prefs WHERE respondent_key = ?",
                (respondent_key,),
            ).fetchone()
            open_ = conn.execute(
                "SELECT count(DISTINCT s.id), count(a.id) FROM sessions s"
                " LEFT JOIN answers a ON a.session_id = s.id WHERE s.respondent_key = ?",
                (respondent_key,),
            ).fetchone()
            listed = ", ".join("?" * len(marks))
            counted: list[Row] = (
                conn.execute(
                    f"SELECT until FROM respondent_marks WHERE mark IN ({listed}) ORDER BY until",
                    tuple(marks),
                ).fetchall()
                if marks
                else []
            )
            return RespondentRecord(
                language=None if language is None else language[0],
                open_sessions=open_[0],
                open_answers=open_[1],
                answered=tuple(_answered(conn, respondent_key)),
                counted=tuple(day(row[0]) for row in counted),
            )

        return await self._db.run(read)

    async def forget_respondent(self, respondent_key: str) -> int:
        """Delete all that carries the key and can go: the language choice and unfinished
        feedback (with its answers: it was never submitted).

        Returns the number of rows deleted. Finished feedback carries no key, so it
        is neither found nor touched. The marks that they answered stay until their
        period is over (`purge_marks`): they name nobody, and without them /forget
        would be a way to answer again.
        """

        def forget(conn: Connection) -> int:
            deleted = 0
            for sql in (
                "DELETE FROM respondent_prefs WHERE respondent_key = ?",
                "DELETE FROM sessions WHERE respondent_key = ? AND status <> 'done'",
            ):
                deleted += conn.execute(sql, (respondent_key,)).rowcount
            return deleted

        return await self._db.run(forget, scrub=lambda _: True)

    async def purge_marks(self, before: date) -> int:
        """Delete the marks kept until a day before `before`: their period is over, so
        they guard nothing, and once gone nothing leads from an account to its answers."""
        cutoff = day_text(before)

        def purge(conn: Connection) -> int:
            return sum(
                conn.execute(f"DELETE FROM {table} WHERE until < ?", (cutoff,)).rowcount
                for table in ("submissions", "respondent_marks")
            )

        return await self._db.run(purge, scrub=lambda deleted: deleted > 0)

    async def purge_comments(self, org_id: int, before: date) -> int:
        """Delete the free text of answers given before `before` in an organisation.

        The text lives twice: in the answer row and in its session's dialog state.
        Both go; the session's revision moves on, so a copy of the state held in
        memory is reloaded instead of writing the text back.
        """
        cutoff = day_text(before)

        def purge(conn: Connection) -> int:
            rows = conn.execute(
                "UPDATE answers SET comment = NULL WHERE org_id = ? AND answered_on < ?"
                " AND comment IS NOT NULL RETURNING session_id, question_id,"
                " (value_num IS NULL AND value_text IS NULL AND value_json IS NULL) AS typed",
                (org_id, cutoff),
            ).fetchall()
            questions: dict[int, list[tuple[str, bool]]] = {}
            for row in rows:
                entry = (row["question_id"], bool(row["typed"]))
                questions.setdefault(row["session_id"], []).append(entry)
            for session_id, purged in questions.items():
                found = conn.execute(
                    "SELECT state_json FROM sessions WHERE id = ?", (session_id,)
                ).fetchone()
                state = json.loads(found["state_json"])
                for question, typed in purged:
                    _drop_text(state.get("answers", {}).get(question), typed)
                conn.execute(
                    "UPDATE sessions SET state_json = ?, revision = revision + 1 WHERE id = ?",
                    (json.dumps(state, ensure_ascii=False, separators=(",", ":")), session_id),
                )
            return len(rows)

        return await self._db.run(purge, scrub=lambda deleted: deleted > 0)


def _answered(conn: Connection, respondent_key: str) -> list[date]:
    """The last days of this respondent's marks that they answered in a period.

    Each period's mark carries a key made for that period alone, so the marks are
    found by making the key for every period that has marks at all.
    """
    periods = [r[0] for r in conn.execute("SELECT DISTINCT period FROM submissions")]
    return sorted(
        day(row[0])
        for period in periods
        for row in conn.execute(
            "SELECT DISTINCT until FROM submissions WHERE respondent_key = ? AND period = ?"
            " AND until IS NOT NULL",
            (period_key(respondent_key, period), period),
        )
    )


def _drop_text(answer: dict[str, object] | None, typed: bool) -> None:
    """Remove a comment from a dialog state's answer; a typed answer (a text
    question, stored as the row's comment) loses its value, which is the text."""
    if answer is None:
        return
    answer.pop("comment", None)
    if typed:
        answer["value"] = None
