"""What every handler is given, typed: PTB's `ContextTypes` with carecheck's own classes.

`context.runtime` is the application services; `context.bot_data` what the adapter
shares across updates; `context.user_data` the flows a person is in (an action being
planned, a draft script under review). Nothing is looked up by a string key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services.dialog_service import DialogService
from bot.services.runtime import Runtime

if TYPE_CHECKING:
    from bot.services.own_frameworks import FrameworkDraft
    from bot.services.script_admin import Draft
    from bot.telegram.jobs import Scheduler
    from bot.telegram.webhook_server import WebhookServer

SHOWN_MESSAGES = 50_000

# What a message shows, as Telegram compares it for "message is not modified".
ViewKey = tuple[str, tuple[tuple[tuple[str, str], ...], ...]]


class BotData:
    """`bot_data`: the services and what the adapter remembers across updates."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None
        self.scheduler: Scheduler | None = None
        self.webhook: WebhookServer | None = None  # listening, when run behind a webhook
        # The last content shown in each message, so no edit repeats it ("not modified").
        self.shown: LRUCache[tuple[int, int], ViewKey] = LRUCache(maxsize=SHOWN_MESSAGES)

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "the application was built without its runtime"
        return self._runtime

    @runtime.setter
    def runtime(self, runtime: Runtime) -> None:
        self._runtime = runtime


@dataclass
class Plan:
    """An improvement action being planned in the chat, step by step."""

    org_id: int
    unit_id: int | None
    framework: str
    item_id: str
    since: datetime
    title: str | None = None
    owner: str | None = None


@dataclass
class Replying:
    """A manager's reply to a comment under way (`route`), from the digest it is in."""

    org_id: int
    unit_id: int | None
    period: str | None
    route: int
    since: datetime


@dataclass
class Answering:
    """A comment's author answering a reply along `route`, once."""

    route: int
    since: datetime


@dataclass
class PersonData:
    """`user_data`: the multi-step flows a person is in; each ends, or expires."""

    plan: Plan | None = None
    draft: Draft | None = None
    framework: FrameworkDraft | None = None  # an own framework under review, instead
    draft_since: datetime | None = None
    preview: int | None = None  # the session of their preview of the draft
    draft_scope: int | None = None  # the organisation the draft is for (None: global)
    replying: Replying | None = None
    answering: Answering | None = None


class CarecheckContext(CallbackContext[ExtBot[None], PersonData, dict[Any, Any], BotData]):
    @property
    def runtime(self) -> Runtime:
        return self.bot_data.runtime

    def dialogs_for(self, session_id: int) -> DialogService:
        """Previews play on their own service (in memory); every other session on the real one."""
        runtime = self.runtime
        return runtime.previews if session_id < 0 else runtime.dialogs

    @property
    def person(self) -> PersonData:
        data = self.user_data
        assert data is not None, "a person's flows exist only in updates from a person"
        return data


CONTEXT_TYPES = ContextTypes(
    context=CarecheckContext, bot_data=BotData, user_data=PersonData, chat_data=dict
)
CarecheckApp = Application[Any, CarecheckContext, PersonData, dict[Any, Any], BotData, Any]
