"""A person's flows read from the database before each of their updates, saved after.

Behind a webhook, replicas take turns: the next step of a flow begun on one usually
reaches another. So what a flow is made of, the ConversationHandlers' state for the
person and their `PersonData`, is loaded before PTB routes the update and saved after
it when it changed (`bot/services/flow_memory.py` keeps it). PTB's own persistence
does not fit: `ConversationHandler` reads persisted conversations once, when the
application starts, and `check_update` (synchronous) then only reads `_conversations`;
only user data is refreshed per update. The update processor is the async hook that
runs before `process_update`, inside the person's lock (`bot/telegram/updates.py`).

A person in no flow costs one primary-key read per update and no write. A draft holds
the YAML it publishes (at most 256 KB); the parsed script or framework is read again
from it on a replica that does not hold the same draft already. A preview's session is
in its replica's memory only: on another replica its buttons say it is over.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

from telegram.ext import ConversationHandler

from bot.services.flow_memory import FlowMemory
from bot.services.own_frameworks import read_framework
from bot.services.script_admin import Draft, ScriptAdmin
from bot.telegram.context import Answering, CarecheckApp, PersonData, Plan, Replying

log = logging.getLogger(__name__)

_STEPS: dict[str, type[Any]] = {"plan": Plan, "replying": Replying, "answering": Answering}


class FlowSync:
    """`before` and `after` one person's update: their flows as every replica sees them."""

    def __init__(self, application: CarecheckApp, memory: FlowMemory, admin: ScriptAdmin) -> None:
        self.application = application
        self.memory = memory
        self.admin = admin

    def _flows(self) -> list[ConversationHandler[Any]]:
        return [
            handler
            for handlers in self.application.handlers.values()
            for handler in handlers
            if isinstance(handler, ConversationHandler)
        ]

    async def before(self, person: int) -> str | None:
        """Load the stored flows into this replica; returns what was stored."""
        stored = await self.memory.load(person)
        if stored is None:
            self._clear(person)
            return None
        if stored != self.snapshot(person):
            try:
                await self._restore(person, json.loads(stored))
            except (ValueError, TypeError, KeyError) as error:
                log.warning("a stored flow did not read back (%s); it is dropped", error)
                self._clear(person)
                return stored  # saved again as empty after the update
        return stored

    async def after(self, person: int, stored: str | None) -> None:
        now = self.snapshot(person)
        if now != stored:
            await self.memory.save(person, now)

    # ------------------------------------------------------------- this replica's memory

    def _clear(self, person: int) -> None:
        key = (person, person)  # private chats only: the chat is the person
        for flow in self._flows():
            flow._conversations.pop(key, None)
        if person in self.application.user_data:
            data = self.application.user_data[person]
            for field in dataclasses.fields(PersonData):
                setattr(data, field.name, None)

    def snapshot(self, person: int) -> str | None:
        """This replica's flows of the person as JSON text; None: in no flow."""
        key = (person, person)
        states = {
            flow.name: state
            for flow in self._flows()
            if flow.name is not None
            and (state := flow._conversations.get(key)) is not None
            and isinstance(state, int | str)
        }
        data = self.application.user_data.get(person)
        fields = _encode(data) if data is not None else {}
        if not states and not fields:
            return None
        return json.dumps({"states": states, "data": fields}, sort_keys=True)

    async def _restore(self, person: int, stored: dict[str, Any]) -> None:
        key = (person, person)
        states = stored["states"]
        for flow in self._flows():
            if flow.name in states:
                flow._conversations[key] = states[flow.name]
            else:
                flow._conversations.pop(key, None)
        data = self.application.user_data[person]
        fields = stored["data"]
        for name, kind in _STEPS.items():
            value = fields.get(name)
            setattr(data, name, None if value is None else _step(kind, value))
        since = fields.get("draft_since")
        data.draft_since = None if since is None else datetime.fromisoformat(since)
        data.preview = fields.get("preview")
        data.draft_scope = fields.get("draft_scope")
        data.draft = await self._draft(data, fields.get("draft"))
        framework = fields.get("framework")
        if framework is None:
            data.framework = None
        elif data.framework is None or data.framework.text != framework["text"]:
            read = read_framework(framework["text"].encode("utf-8"), "framework.yaml")
            data.framework = dataclasses.replace(
                read, filename=framework["filename"], source_format=framework["format"]
            )

    async def _draft(self, data: PersonData, stored: dict[str, Any] | None) -> Draft | None:
        if stored is None:
            return None
        if data.draft is not None and data.draft.text == stored["text"]:
            return data.draft  # the same draft: not read again
        frameworks = await self.admin.frameworks_of(data.draft_scope)
        read = self.admin.load_draft(stored["text"].encode("utf-8"), "draft.yaml", frameworks)
        return dataclasses.replace(
            read, filename=stored["filename"], source_format=stored["format"]
        )


def _encode(data: PersonData) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in _STEPS:
        step = getattr(data, name)
        if step is not None:
            value = dataclasses.asdict(step)
            value["since"] = step.since.isoformat()
            fields[name] = value
    if data.draft is not None:
        fields["draft"] = {
            "filename": data.draft.filename,
            "format": data.draft.source_format,
            "text": data.draft.text,
        }
    if data.framework is not None:
        fields["framework"] = {
            "filename": data.framework.filename,
            "format": data.framework.source_format,
            "text": data.framework.text,
        }
    if data.draft_since is not None:
        fields["draft_since"] = data.draft_since.isoformat()
    if data.preview is not None:
        fields["preview"] = data.preview
    if data.draft_scope is not None and (data.draft is not None or data.framework is not None):
        fields["draft_scope"] = data.draft_scope
    return fields


def _step(kind: type[Any], value: dict[str, Any]) -> Any:
    value = dict(value)
    value["since"] = datetime.fromisoformat(value["since"])
    return kind(**value)
