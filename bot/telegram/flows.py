"""Multi-step flows in the chat (planning an action, reviewing a draft script), declared once.

A flow is a PTB ConversationHandler with the same three rules for all of them:
- any command ends it, and the command is then handled as usual;
- a button of the person's check-in or feedback ends it, and is handled as usual,
  so what they type next goes to the dialog they can see, not to an old prompt;
- it expires: a step taken after `FLOW_MINUTES` (by the injected clock) ends the
  flow instead, tells the person, and lets the update through to everyone else.
A step that consumes an update ends by raising ApplicationHandlerStop with the next
state, so no other handler sees it too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.telegram.callbacks import DIALOG, pattern
from bot.telegram.context import CarecheckContext

FLOW_MINUTES = 30
END = ConversationHandler.END

Leave = Callable[[CarecheckContext], None]


class Next(ApplicationHandlerStop):
    """A flow's step is done: go to `state` (END: the flow is over), answer with `notice`."""

    def __init__(self, state: object, notice: str | None = None) -> None:
        super().__init__(state)
        self.notice = notice


def declare(
    name: str,
    entry_points: list[BaseHandler[Update, CarecheckContext, Any]],
    states: dict[object, list[BaseHandler[Update, CarecheckContext, Any]]],
    leave: Leave,
) -> ConversationHandler[CarecheckContext]:
    """A flow with carecheck's rules; `leave` forgets the flow's data when it ends early."""

    async def left(update: Update, context: CarecheckContext) -> int:
        leave(context)
        return END  # and the update goes on to the handlers of the other groups

    with warnings.catch_warnings():
        # PTB warns that with per_message=False a button is tracked per chat, not per
        # message: that is the point here (one flow per person, whichever message).
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return _conversation(name, entry_points, states, left)


def _conversation(
    name: str,
    entry_points: list[BaseHandler[Update, CarecheckContext, Any]],
    states: dict[object, list[BaseHandler[Update, CarecheckContext, Any]]],
    left: Callable[[Update, CarecheckContext], Coroutine[Any, Any, int]],
) -> ConversationHandler[CarecheckContext]:
    return ConversationHandler(
        entry_points=entry_points,
        states=states,
        fallbacks=[
            MessageHandler(filters.COMMAND, left),
            # A stored session's buttons and "Start now"; a preview's stay in the flow.
            CallbackQueryHandler(left, pattern=pattern(*DIALOG, preview=False)),
            CallbackQueryHandler(left, pattern=pattern("go")),
        ],
        allow_reentry=True,
        per_chat=True,
        per_user=True,
        per_message=False,
        name=name,
    )


def started(context: CarecheckContext) -> datetime:
    return context.runtime.clock()


def expired(context: CarecheckContext, since: datetime | None) -> bool:
    """Whether a flow begun at `since` has run out (by the runtime's clock)."""
    if since is None:
        return True
    return context.runtime.clock() - since > timedelta(minutes=FLOW_MINUTES)
