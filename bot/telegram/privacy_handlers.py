"""/privacy and /forget in the chat: what is stored about me, and delete it.

/forget asks first, with two buttons. The confirmation acts only on the person who
presses it, whatever the message or the callback data say, so a forged press can
at most make someone forget themselves.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot.infra.i18n import _, translator
from bot.services.personal_data import describe, forget_warning
from bot.telegram.callbacks import decode, encode
from bot.telegram.command_menu import remove_menu
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import View, answers_query, button, identify, say, show

log = logging.getLogger(__name__)

DELETE = _("Yes, delete")
KEEP = _("No, keep it")
NOTHING = _("carecheck stores nothing about you, so there is nothing to delete.")
DONE = _("Done: what carecheck stored about you is deleted.")
KEPT = _("Nothing was deleted.")


async def on_privacy(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    stored = await context.runtime.personal_data.stored_about(who)
    await say(update, context, describe(stored, translator(who.language)))


async def on_forget(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    stored = await context.runtime.personal_data.stored_about(who)
    if stored.empty:
        await say(update, context, t(NOTHING))
        return
    if not stored.deletable:  # only marks that stay until their day: say so, ask nothing
        await say(update, context, describe(stored, t))
        return
    keyboard = InlineKeyboardMarkup(
        [[button(t(DELETE), encode("fg", "yes")), button(t(KEEP), encode("fg", "no"))]]
    )
    assert update.effective_chat is not None
    await show(context, update.effective_chat.id, View(escape(forget_warning(stored, t)), keyboard))


@answers_query
async def on_forget_button(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    t = translator(who.language)
    if decode(query.data).choice == "yes":
        await context.runtime.personal_data.forget(who)
        log.info("a person used /forget")
        if who.person is not None:  # their roles are gone: the default menu again
            await remove_menu(context.bot, query.message.chat.id)
        text = t(DONE)
    else:
        text = t(KEPT)
    await show(context, query.message.chat.id, View(escape(text)), query.message.message_id)
    return None
