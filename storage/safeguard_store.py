"""Safeguarding signals, their alerts, contacts and help texts: all of its SQL.

A signal is written with the answer's commit (`storage.sessions`); `claim_due` turns an
organisation's waiting signals into one alert at most once an hour, in one transaction,
and `claim_send` claims each recipient's message before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.connection import Connection
from storage.db import Database
from storage.rows import record
from storage.send_leases import SAFEGUARDING, SendLeases
from storage.times import instant_text

# The organisation's next alert waits this long after its last one.
BATCH = timedelta(hours=1)


@dataclass(frozen=True)
class Signal:
    """One line of an alert: where, which day, which question, which answer."""

    unit_id: int | None
    day: date
    script_version_id: int
    question_id: str
    answer: str


@dataclass(frozen=True)
class Alert:
    id: int
    org_id: int
    status: str
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True)
class AlertRecipient:
    """Someone owed an alert; `units` None: all of it (a contact or an organisation's
    manager), else only the lines of the units they manage."""

    person_id: int
    telegram_id: int
    language: str
    units: frozenset[int] | None


# Active people owed an alert's message: the organisation's flagged contacts, its
# managers when it has none, and the managers of the units the alert names.
_RECIPIENTS = (
    "SELECT p.id AS person_id, p.telegram_id, p.language, CAST(NULL AS BIGINT) AS unit_id"
    " FROM safeguarding_contacts c JOIN people p ON p.id = c.person_id"
    " WHERE c.org_id = ?1 AND p.active = 1"
    " UNION SELECT p.id, p.telegram_id, p.language, CAST(NULL AS BIGINT)"
    " FROM memberships m JOIN people p ON p.id = m.person_id"
    " WHERE m.org_id = ?1 AND m.role = 'manager' AND m.unit_id IS NULL AND p.active = 1"
    " AND NOT EXISTS (SELECT 1 FROM safeguarding_contacts c WHERE c.org_id = ?1)"
    " UNION SELECT p.id, p.telegram_id, p.language, m.unit_id"
    " FROM memberships m JOIN people p ON p.id = m.person_id"
    " WHERE m.org_id = ?1 AND m.role = 'manager' AND p.active = 1"
    " AND m.unit_id IN (SELECT unit_id FROM safeguarding_signals WHERE alert_id = ?2)"
)


class SafeguardStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._sends = SendLeases(db, SAFEGUARDING)

    # ---------------------------------------------------------------- alerts

    async def claim_due(self, now: datetime) -> list[Alert]:
        """Batch each organisation's signals that are due into one new alert.

        Not while the organisation had an alert within the hour: those signals wait for
        the next batch, so a stream of answers is one message an hour, with counts.
        """
        now_text, hour_ago = instant_text(now), instant_text(now - BATCH)

        def claim(conn: Connection) -> list[int]:
            orgs = conn.execute(
                "SELECT DISTINCT org_id FROM safeguarding_signals s WHERE alert_id IS NULL"
                " AND due_at <= ? AND NOT EXISTS (SELECT 1 FROM safeguarding_alerts a"
                "   WHERE a.org_id = s.org_id AND a.made_at > ?)",
                (now_text, hour_ago),
            ).fetchall()
            made = []
            for (org_id,) in orgs:
                alert_id = conn.execute(
                    "INSERT INTO safeguarding_alerts (org_id, made_at) VALUES (?, ?) RETURNING id",
                    (org_id, now_text),
                ).fetchone()[0]
                conn.execute(
                    "UPDATE safeguarding_signals SET alert_id = ?, due_at = NULL"
                    " WHERE org_id = ? AND alert_id IS NULL",
                    (alert_id, org_id),
                )
                made.append(int(alert_id))
            return made

        await self._db.run(claim)
        return await self.recent(now)

    async def recent(self, now: datetime) -> list[Alert]:
        """The last day's alerts, which someone may still be owed (a send that failed)."""
        rows = await self._db.fetchall(
            "SELECT id FROM safeguarding_alerts WHERE made_at > ? ORDER BY id",
            (instant_text(now - timedelta(days=1)),),
        )
        found = [await self.alert(int(r["id"])) for r in rows]
        return [a for a in found if a is not None]

    async def alert(self, alert_id: int) -> Alert | None:
        row = await self._db.fetchone(
            "SELECT id, org_id, status FROM safeguarding_alerts WHERE id = ?", (alert_id,)
        )
        if row is None:
            return None
        signals = await self._db.fetchall(
            "SELECT unit_id, day, script_version_id, question_id, answer"
            " FROM safeguarding_signals WHERE alert_id = ? ORDER BY day, unit_id, question_id",
            (alert_id,),
        )
        return Alert(
            int(row["id"]),
            int(row["org_id"]),
            str(row["status"]),
            tuple(record(Signal, s) for s in signals),
        )

    async def recipients(self, alert: Alert) -> list[AlertRecipient]:
        rows = await self._db.fetchall(_RECIPIENTS, (alert.org_id, alert.id))
        people: dict[int, AlertRecipient] = {}
        for r in rows:
            pid = int(r["person_id"])
            known = people.get(pid)
            units: frozenset[int] | None = (
                None if r["unit_id"] is None else frozenset({int(r["unit_id"])})
            )
            if known is not None:
                units = None if known.units is None or units is None else known.units | units
            people[pid] = AlertRecipient(pid, int(r["telegram_id"]), str(r["language"]), units)
        return [people[p] for p in sorted(people)]

    async def sent_to(self, alert_id: int) -> set[int]:
        """Who has had the alert (settled: a live claim is not in it)."""
        return {int(person) for person in await self._sends.settled((alert_id,))}

    async def claim_send(self, alert_id: int, person_id: int) -> bool:
        """Claim one recipient's message; False if it is claimed (by a run that is alive)."""
        return await self._sends.claim((alert_id, person_id))

    async def settle_send(self, alert_id: int, person_id: int) -> None:
        await self._sends.settle((alert_id, person_id))

    async def unclaim_send(self, alert_id: int, person_id: int) -> None:
        await self._sends.withdraw((alert_id, person_id))

    async def mark(self, alert_id: int, status: str, person_id: int) -> bool:
        """Mark an alert seen or followed up; followed up stays so (a late 'seen' is ignored)."""
        changed = await self._db.execute(
            "UPDATE safeguarding_alerts SET status = ?, changed_by = ?"
            " WHERE id = ? AND (status != 'followed_up' OR ? = 'followed_up')",
            (status, person_id, alert_id, status),
        )
        return changed == 1

    async def open_signals(self, org_id: int, unit_id: int | None) -> list[Signal]:
        """Lines of the organisation's alerts not yet followed up (of one unit, if given)."""
        rows = await self._db.fetchall(
            "SELECT s.unit_id, s.day, s.script_version_id, s.question_id, s.answer"
            " FROM safeguarding_signals s JOIN safeguarding_alerts a ON a.id = s.alert_id"
            " WHERE a.org_id = ?1 AND a.status != 'followed_up'"
            " AND (CAST(?2 AS BIGINT) IS NULL OR s.unit_id = ?2) ORDER BY s.day, s.unit_id,"
            " s.question_id",
            (org_id, unit_id),
        )
        return [record(Signal, r) for r in rows]

    async def purge_followed_up(self, org_id: int, before: datetime) -> int:
        """Delete the organisation's alerts followed up and made before `before`, with
        their signals; returns how many alerts."""

        def purge(conn: Connection) -> int:
            gone = (
                "SELECT id FROM safeguarding_alerts"
                " WHERE org_id = ? AND status = 'followed_up' AND made_at < ?"
            )
            params = (org_id, instant_text(before))
            conn.execute(f"DELETE FROM safeguarding_signals WHERE alert_id IN ({gone})", params)
            conn.execute(f"DELETE FROM safeguarding_sends WHERE alert_id IN ({gone})", params)
            return conn.execute(
                "DELETE FROM safeguarding_alerts WHERE org_id = ? AND status = 'followed_up'"
                " AND made_at < ?",
                params,
            ).rowcount

        return await self._db.run(purge)

    # ---------------------------------------------------------------- contacts

    async def contacts(self, org_id: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT person_id FROM safeguarding_contacts WHERE org_id = ? ORDER BY person_id",
            (org_id,),
        )
        return [int(r["person_id"]) for r in rows]

    async def is_member(self, org_id: int, person_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM memberships m JOIN people p ON p.id = m.person_id"
            " WHERE m.org_id = ? AND m.person_id = ? AND p.active = 1",
            (org_id, person_id),
        )
        return row is not None

    async def add_contact(self, org_id: int, person_id: int) -> bool:
        changed = await self._db.execute(
            "INSERT INTO safeguarding_contacts (org_id, person_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            (org_id, person_id),
        )
        return changed == 1

    async def remove_contact(self, org_id: int, person_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM safeguarding_contacts WHERE org_id = ? AND person_id = ?",
            (org_id, person_id),
        )
        return changed == 1

    # ---------------------------------------------------------------- help texts

    async def help_texts(self, org_id: int) -> dict[str, str]:
        rows = await self._db.fetchall(
            "SELECT language, text FROM safeguarding_help WHERE org_id = ?", (org_id,)
        )
        return {str(r["language"]): str(r["text"]) for r in rows}

    async def set_help_texts(self, org_id: int, texts: dict[str, str]) -> None:
        """Replace the organisation's help texts; an empty dict goes back to the default."""

        def replace(conn: Connection) -> None:
            conn.execute("DELETE FROM safeguarding_help WHERE org_id = ?", (org_id,))
            conn.executemany(
                "INSERT INTO safeguarding_help (org_id, language, text) VALUES (?, ?, ?)",
                [(org_id, lang, text) for lang, text in sorted(texts.items())],
            )

        await self._db.run(replace)
