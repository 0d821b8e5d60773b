"""What every handler shares: the services, who is writing, and how a view reaches the chat."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.infra.i18n import Translator, translator
from bot.services.dialog_service import Step
from bot.services.onboarding import Identity, Onboarding
from bot.services.periods import local_today
from bot.services.runtime import Runtime
from bot.telegram import screens as render
from bot.telegram.screens import View
from storage.orgs import OrgRepo

log = logging.getLogger(__name__)

SERVICES = "carecheck"
TIMEZONE_TTL = 60.0  # seconds


@dataclass
class BotServices:
    runtime: Runtime
    onboarding: Onboarding
    clock: Callable[[], datetime]
    # The last content shown in each message, so no edit repeats it ("not modified").
    shown: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    # "What we changed after your feedback" lines for an organisation, in a language.
    changes_for_users: Callable[[int, str], Awaitable[list[str]]] | None = None
    timezones: dict[int, tuple[float, str]] = field(default_factory=dict)

    async def org_today(self, org_id: int) -> date:
        """Today where the organisation is: the day answers are filed under.

        The time zone is cached for a minute: it is asked on every answer and
        changes about never.
        """
        now = time.monotonic()
        cached = self.timezones.get(org_id)
        if cached is None or cached[0] <= now:
            org = await OrgRepo(self.runtime.db).get_org(org_id)
            cached = (now + TIMEZONE_TTL, org.timezone if org else "UTC")
            self.timezones[org_id] = cached
        return local_today(self.clock(), cached[1])


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES]  # type: ignore[no-any-return]


async def identify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Identity:
    user = update.effective_user
    assert user is not None
    return await services(context).onboarding.identify(user.id, user.language_code)


# ---------------------------------------------------------------- showing things


async def show(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, view: View, message_id: int | None = None
) -> int:
    """Edit `message_id` to the view (unless it already shows it), or send a new message."""
    shown = services(context).shown
    key = view.key()
    if message_id is not None:
        if shown.get((chat_id, message_id)) == key:
            return message_id
        try:
            await context.bot.edit_message_text(
                view.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=view.keyboard,
            )
            shown[(chat_id, message_id)] = key
            return message_id
        except BadRequest as error:
            if "not modified" in str(error).lower():
                shown[(chat_id, message_id)] = key
                return message_id
            log.info("editing message %s failed (%s); sending a new one", message_id, error)
    message = await context.bot.send_message(
        chat_id, view.text, parse_mode=ParseMode.HTML, reply_markup=view.keyboard
    )
    shown[(chat_id, message.message_id)] = key
    if len(shown) > 50_000:
        shown.pop(next(iter(shown)))
    return message.message_id


async def say(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """A plain translated sentence as a new message."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, escape(text), parse_mode=ParseMode.HTML)


async def tell(update: Update, context: ContextTypes.DEFAULT_TYPE, message: str) -> None:
    """One catalogue sentence, in the sender's language, as a new message."""
    who = await identify(update, context)
    await say(update, context, translator(who.language)(message))


async def step_view(step: Step, t: Translator, context: ContextTypes.DEFAULT_TYPE) -> View:
    screen = step.screen
    if screen.phase == "done":
        changes: list[str] = []
        hook = services(context).changes_for_users
        if step.loaded.script.audience == "service_user" and hook is not None:
            row = await services(context).runtime.dialogs.sessions.get(step.session_id)
            if row is not None:
                changes = await hook(row.org_id, t.language)
        return render.finished_view(step, t, changes)
    if screen.phase == "paused":
        return render.paused_view(step, t)
    return render.question_view(step, t)
