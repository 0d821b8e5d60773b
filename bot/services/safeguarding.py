"""Safeguarding: the help a person sees at once, and the alerts their answer leaves.

An answer that makes a question's `safeguard_if` hold is committed with a signal that
names the unit, the day, the question and the answer: never the session, the person or
the time (`storage.sessions.SignalWrite`). Every minute `deliver_due` gathers each
organisation's waiting signals into one alert, at most one an hour, and sends it to
its safeguarding contacts (people flagged for it, else its managers) and the managers
of the units it names. A first signal is sent within five minutes; the ones after it
in the same hour wait for that hour's batch, with counts, so a stream of alerts cannot
single out whoever answered. Contacts mark an alert seen or followed up; digests list
what is not followed up.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import yaml

from bot.infra.i18n import Translator, _, translator
from bot.services.permissions import allowed
from bot.services.safeguard_line import SafeguardLine
from bot.services.script_registry import BrokenScript, ScriptNotFound, ScriptRegistry
from dialogs.engine import Answer
from dialogs.model import LANGUAGES
from storage.db import Database
from storage.orgs import Org, OrgRepo
from storage.people import Membership
from storage.safeguard_store import Alert, AlertRecipient, SafeguardStore, Signal
from storage.sessions import SignalWrite

log = logging.getLogger(__name__)

# A signal's batch goes out this long after the answer at the earliest: the job runs
# every minute, so a first alert arrives within five minutes of the answer.
GATHER = timedelta(minutes=3)
MAX_HELP_CHARS = 1500
MAX_HELP_FILE = 16_000

DEFAULT_HELP = _(
    "If you do not feel safe, or something is wrong, you do not have to deal with it"
    " alone. Talk to a member of staff you trust, or to the manager. In an emergency,"
    " call 112."
)

Status = Literal["seen", "followed_up"]
# Sends one recipient's alert text, with the alert's id for its buttons.
Send = Callable[[AlertRecipient, str, int], Awaitable[None]]


class SafeguardingRefused(ValueError):
    """A safeguarding set-up value is wrong; the message is one line naming it."""


class HelpTextRefused(SafeguardingRefused):
    """A help-text file that cannot be used; the message says why, in one line."""


class NotAMember(SafeguardingRefused):
    """A safeguarding contact must have a role in the organisation."""


class NotAContact(PermissionError):
    """The presser may not mark this alert (not the organisation's contact, manager or admin)."""


@dataclass(frozen=True)
class MarkedAlert:
    alert_id: int
    status: str  # open, seen or followed_up
    text: str


@dataclass(frozen=True)
class AlertDelivery:
    sent: int
    already_sent: int
    failed: int


def signal_of(answer: Answer | None, now: datetime) -> SignalWrite | None:
    """What an answer that fired a rule leaves for the alert: its question and value."""
    if answer is None:
        return None
    value = answer.value
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return SignalWrite(answer.question_id, text, now + GATHER)


def parse_help_file(data: bytes, org_language: str) -> dict[str, str]:
    """A help-text file: YAML `{en: ..., sl: ...}`, or plain text in the organisation's language.

    A mapping whose keys are all two-letter codes is a text per language; anything else is
    one plain text.
    """
    if len(data) > MAX_HELP_FILE:
        raise HelpTextRefused(f"the file is over {MAX_HELP_FILE} bytes")
    try:
        text = data.decode("utf-8")
        loaded: Any = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise HelpTextRefused(f"not UTF-8 YAML or text: {type(error).__name__}") from None
    if isinstance(loaded, dict) and all(re.fullmatch(r"[a-z]{2}", str(k)) for k in loaded):
        texts = {str(k): v for k, v in loaded.items()}
    elif isinstance(loaded, list):
        raise HelpTextRefused("write a text, or one text per language: 'en: ...'")
    else:
        # Plain text ("Call Ana: 040 123 456" reads as YAML too): one language's text.
        texts = {org_language: text.strip()}
    for language, value in texts.items():
        if language not in LANGUAGES:
            raise HelpTextRefused(f"unknown language {language!r}; use {', '.join(LANGUAGES)}")
        if not isinstance(value, str) or not value.strip():
            raise HelpTextRefused(f"the {language} text is empty")
        if len(value.strip()) > MAX_HELP_CHARS:
            raise HelpTextRefused(f"the {language} text is over {MAX_HELP_CHARS} characters")
    return {k: str(v).strip() for k, v in texts.items()}


class Safeguarding:
    def __init__(self, db: Database, scripts: ScriptRegistry) -> None:
        self.db = db
        self.store = SafeguardStore(db)
        self.scripts = scripts

    # ---------------------------------------------------------------- help text

    async def help_text(self, org_id: int, language: str) -> str:
        """The organisation's help text in the language, else the default in it."""
        own = await self.store.help_texts(org_id)
        return own.get(language) or translator(language)(DEFAULT_HELP)

    async def set_help_texts(self, org_id: int, texts: dict[str, str]) -> None:
        """Replace the organisation's texts; {} goes back to the default in every language."""
        await self._org(org_id)
        await self.store.set_help_texts(org_id, texts)

    async def set_help_file(self, org_id: int, data: bytes) -> dict[str, str]:
        """`org set --help-text-file`: the file checked, then the organisation's texts replaced."""
        org = await self._org(org_id)
        texts = parse_help_file(data, org.language)
        await self.store.set_help_texts(org_id, texts)
        return texts

    async def _org(self, org_id: int) -> Org:
        org = await OrgRepo(self.db).get_org(org_id)
        if org is None:
            raise SafeguardingRefused(f"no organisation {org_id}")
        return org

    async def help_texts(self, org_id: int) -> dict[str, str]:
        """The organisation's own texts (languages without one get the default)."""
        await self._org(org_id)
        return await self.store.help_texts(org_id)

    # ---------------------------------------------------------------- contacts

    async def contacts(self, org_id: int) -> list[int]:
        await self._org(org_id)
        return await self.store.contacts(org_id)

    async def add_contact(self, org_id: int, person_id: int) -> bool:
        await self._org(org_id)
        if not await self.store.is_member(org_id, person_id):
            raise NotAMember(f"person {person_id} has no role in organisation {org_id}")
        return await self.store.add_contact(org_id, person_id)

    async def remove_contact(self, org_id: int, person_id: int) -> bool:
        return await self.store.remove_contact(org_id, person_id)

    # ---------------------------------------------------------------- alerts

    async def deliver_due(self, now: datetime, send: Send) -> AlertDelivery:
        """Batch what is due and send every alert to whoever is still owed it, once."""
        sent = already = failed = 0
        for alert in await self.store.claim_due(now):
            done = await self.store.sent_to(alert.id)
            for recipient in await self.store.recipients(alert):
                if recipient.person_id in done:
                    already += 1
                    continue
                lines = [
                    s
                    for s in alert.signals
                    if recipient.units is None or s.unit_id in recipient.units
                ]
                if not lines:
                    continue
                if not await self.store.claim_send(alert.id, recipient.person_id):
                    already += 1
                    continue
                try:
                    text = await self.render_alert(alert.org_id, lines, recipient.language)
                    await send(recipient, text, alert.id)
                except Exception:
                    await self.store.unclaim_send(alert.id, recipient.person_id)
                    log.exception(
                        "safeguarding alert %s to person %s failed; will retry",
                        alert.id,
                        recipient.person_id,
                    )
                    failed += 1
                    continue
                await self.store.settle_send(alert.id, recipient.person_id)
                sent += 1
        return AlertDelivery(sent, already, failed)

    async def render_alert(self, org_id: int, signals: Iterable[Signal], language: str) -> str:
        """The alert: how many answers, then one line per day, unit, question and answer."""
        t = translator(language)
        signals = list(signals)
        head = t.plural(
            "⚠️ Safeguarding: {n} answer calls for attention.",
            "⚠️ Safeguarding: {n} answers call for attention.",
            len(signals),
        )
        lines = await self.lines(org_id, signals, language)
        note = t(
            "Who answered and when is not known, and is not to be sought out."
            " Please check in with the people of these units, and mark this alert."
        )
        return "\n".join([head, "", *lines, "", note])

    async def lines(self, org_id: int, signals: Iterable[Signal], language: str) -> list[str]:
        """'2026-11-30 · Unit · question: answer (×2)', grouped, in the language."""
        t = translator(language)
        return [line_text(line, t) for line in await self.resolve(org_id, signals)]

    async def resolve(self, org_id: int, signals: Iterable[Signal]) -> list[SafeguardLine]:
        """Signals grouped by day, unit, question and answer, in the script's words."""
        units = {u.id: u.name for u in await OrgRepo(self.db).list_units(org_id)}
        counts = Counter(
            (s.day, s.unit_id, s.script_version_id, s.question_id, s.answer) for s in signals
        )
        out = []
        for (day, unit_id, version_id, question_id, answer), n in counts.items():
            question, label = await self._words(version_id, question_id, answer)
            unit = None if unit_id is None else units.get(unit_id, "?")
            out.append(SafeguardLine(day, unit, question, label, n))
        return out

    async def _words(
        self, version_id: int, question_id: str, answer: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The question's text and the answer's label in every language of its script."""
        plain = ({"en": question_id}, {"en": answer})
        try:
            loaded = await self.scripts.by_version_id(version_id)
        except (ScriptNotFound, BrokenScript):
            return plain
        question = loaded.engine.questions.get(question_id)
        if question is None:
            return plain
        text = {str(k): v for k, v in question.text.items()}
        for choice in loaded.engine.choices(question):
            if str(choice.value) == answer and choice.label is not None:
                emoji = f"{choice.emoji} " if choice.emoji else ""
                return text, {str(k): emoji + v for k, v in choice.label.items()}
        return text, {"en": answer}

    async def open_lines(self, org_id: int, unit_id: int | None) -> tuple[SafeguardLine, ...]:
        """What a digest of this scope lists: the lines of alerts not yet followed up."""
        signals = await self.store.open_signals(org_id, unit_id)
        return tuple(await self.resolve(org_id, signals)) if signals else ()

    async def mark(
        self,
        memberships: list[Membership],
        person_id: int,
        alert_id: int,
        status: Status,
        language: str,
    ) -> MarkedAlert:
        """A contact marks an alert; checked against the presser's own roles, never the data.

        Returns the alert as the presser may read it (a unit's manager: their units' lines).
        """
        alert = await self.store.alert(alert_id)
        visible = None if alert is None else await self.visible(memberships, person_id, alert)
        if alert is None or not visible:
            raise NotAContact(f"person {person_id} may not mark alert {alert_id}")
        await self.store.mark(alert_id, status, person_id)
        marked = await self.store.alert(alert_id)
        assert marked is not None
        text = await self.render_alert(alert.org_id, visible, language)
        return MarkedAlert(alert_id, marked.status, text)

    async def visible(
        self, memberships: list[Membership], person_id: int, alert: Alert
    ) -> list[Signal]:
        """The lines of the alert this person may read; none: they may not mark it."""
        if person_id in await self.store.contacts(alert.org_id) or allowed(
            memberships, "digest", alert.org_id
        ):
            return list(alert.signals)  # a contact, the organisation's manager or an admin
        return [
            s
            for s in alert.signals
            if s.unit_id is not None and allowed(memberships, "digest", alert.org_id, s.unit_id)
        ]


def line_text(line: SafeguardLine, t: Translator) -> str:
    """One line of an alert or a digest, in the translator's language."""
    question, answer = line.words(t.language)
    unit = line.unit if line.unit is not None else t("the whole organisation")
    count = f" (×{line.count})" if line.count > 1 else ""
    return f"• {line.day.isoformat()} · {unit} · {question}: {answer}{count}"
