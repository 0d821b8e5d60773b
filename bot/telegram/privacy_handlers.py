"""/privacy and /forget in the chat: what is stored about me, and delete it.

/forget asks first, with two buttons. The confirmation acts only on the person who
presses it, whatever the message or the callback data say, so a forged press can
at most make someone forget themselves.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.infra.i18n import _, translator
from bot.services.personal_data import describe, forget, forget_warning, stored_about
from bot.telegram.replies import identify, say, services, show
from bot.telegram.screens import View, button

log = logging.getLogger(__name__)

YES, NO = "1:fg:yes", "1:fg:no"
BUTTONS = r"^1:fg:(yes|no)$"  # the pattern the callback handler is registered with
DELETE = _("Yes, delete")
KEEP = _("No, keep it")
NOTHING = _("carecheck stores nothing about you, so there is nothing to delete.")
DONE = _("Done: what carecheck stored about you is deleted.")
KEPT = _("Nothing was deleted.")


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    stored = await stored_about(services(context).runtime.db, who)
    await say(update, context, describe(stored, translator(who.language)))


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    stored = await stored_about(services(context).runtime.db, who)
    if stored.empty:
        await say(update, context, t(NOTHING))
        return
    keyboard = InlineKeyboardMarkup([[button(t(DELETE), YES), button(t(KEEP), NO)]])
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    await show(context, chat_id, View(escape(forget_warning(stored, t)), keyboard))


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    svc = services(context)
    who = await identify(update, context)
    t = translator(who.language)
    if query.data == YES:
        await forget(svc.runtime.db, svc.onboarding, who)
        log.info("a person used /forget")
        text = t(DONE)
    else:
        text = t(KEPT)
    try:
        await show(context, query.message.chat.id, View(escape(text)), query.message.message_id)
    finally:
        try:
            await query.answer()
        except TelegramError as error:
            log.info("answering callback query %s failed: %s", query.id, error)
