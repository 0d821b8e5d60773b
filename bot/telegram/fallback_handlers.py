"""What is not for carecheck: groups, unknown commands, stickers and photos, failures.

carecheck talks only in private chats. Anything it cannot read gets one sentence
saying what it understands; a failure gets "your answers are saved", and the log
the detail.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.infra.i18n import _, translator
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import SOMETHING_WRONG, answers_query, sender_language, tell

log = logging.getLogger(__name__)

NO_LONGER_VALID = _("This button is no longer valid.")


async def on_other_message(update: Update, context: CarecheckContext) -> None:
    """Stickers, photos, voice and the like: say what the bot understands."""
    await tell(update, context, _("I can only read text messages and button presses."))


async def on_unknown_command(update: Update, context: CarecheckContext) -> None:
    await tell(update, context, _("I do not know that command. Send /help to see what I can do."))


@answers_query
async def on_unknown_button(update: Update, context: CarecheckContext) -> str | None:
    """Callback data that are not ours, not this version, or malformed."""
    query = update.callback_query
    log.info("update %s: refused callback data %r", update.update_id, query and query.data)
    return translator(await sender_language(update, context))(NO_LONGER_VALID)


async def on_group(update: Update, context: CarecheckContext) -> None:
    """carecheck talks only in private chats: it leaves any group it is added to."""
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE:
        return
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status in ("left", "kicked"):
        return  # removed already: there is nothing to leave
    try:
        await context.bot.leave_chat(chat.id)
    except (Forbidden, BadRequest) as error:
        log.info("leaving chat %s: %s", chat.id, error)


async def on_error(update: object, context: CarecheckContext) -> None:
    """Log the failure with the update id and tell the person their answers are safe."""
    update_id = getattr(update, "update_id", None)
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != update.effective_chat.PRIVATE:
        return
    if update.callback_query is not None:
        return  # its handler answered it (`answers_query`)
    text = translator(await sender_language(update, context))(SOMETHING_WRONG)
    try:
        await context.bot.send_message(
            update.effective_chat.id, escape(text), parse_mode=ParseMode.HTML
        )
    except TelegramError:
        log.warning("update %s: could not tell the sender about the failure", update_id)
