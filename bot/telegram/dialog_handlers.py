"""A dialog's buttons and typed answers: decode, call the dialog service once, render, show.

The same path serves a real session and an admin's preview of a draft (a negative
session id): only the service behind it differs, the database's or memory's.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.infra.i18n import Translator, translator
from bot.services.dialog_phrases import explain
from bot.services.dialog_service import Press, Reply, Step
from bot.telegram.callbacks import decode, sessions_on
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import answers_query, say, show
from bot.telegram.reply_handlers import offer_view
from bot.telegram.screens import help_view, step_view

ACTIONS = {
    "a": "answer",
    "t": "toggle",
    "c": "confirm",
    "s": "skip",
    "b": "back",
    "p": "pause",
    "r": "resume",
}


@answers_query
async def on_dialog_button(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None and query.message is not None and update.effective_user is not None
    data = decode(query.data)  # the route's pattern admits only well-formed dialog kinds
    assert data.session is not None
    markup = getattr(query.message, "reply_markup", None)
    buttons = [b.callback_data for row in getattr(markup, "inline_keyboard", ()) for b in row]
    press = Press(
        telegram_id=update.effective_user.id,
        session_id=data.session,
        action=ACTIONS[data.kind],  # type: ignore[arg-type]
        step=data.step,
        token=data.index,
        language_code=update.effective_user.language_code,
        shown_sessions=lambda: sessions_on(b for b in buttons if isinstance(b, str)),
    )
    reply = await context.dialogs_for(data.session).press(press)
    t = translator(reply.language)
    if reply.step is not None:
        chat_id, message_id = query.message.chat.id, query.message.message_id
        # A refused press shows where the session is, unless the pressed message does.
        showing = markup if reply.refusal is not None else None
        await show_step(context, chat_id, reply.step, t, message_id, showing)
    return explain(t, reply.refusal) if reply.refusal is not None else None


async def on_typed_answer(update: Update, context: CarecheckContext) -> None:
    """A typed message: the answer to a text question or a follow-up, else a hint."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    reply = await context.runtime.dialogs.typed(
        user.id, message.text, f"m{message.message_id}", user.language_code
    )
    await show_reply_to_text(update, context, reply)


async def show_reply_to_text(update: Update, context: CarecheckContext, reply: Reply) -> None:
    """A dialog's answer to typed text: its next screen as a new message, or why not."""
    t = translator(reply.language)
    if reply.refusal is not None:
        await say(update, context, explain(t, reply.refusal))
    elif reply.step is not None:
        assert update.effective_chat is not None
        await show_step(context, update.effective_chat.id, reply.step, t)


async def show_step(
    context: CarecheckContext,
    chat_id: int,
    step: Step,
    t: Translator,
    message_id: int | None = None,
    showing: InlineKeyboardMarkup | None = None,
) -> None:
    """The step's screen; after an answer that calls for help, the help first, and the
    screen below it as a new message, so the help is never edited away. After a finished
    session's thank-you: may the team reply to each of its comments?"""
    if step.help is not None:
        await show(context, chat_id, help_view(step.help, t))
        message_id = showing = None
    await show(context, chat_id, step_view(step, t), message_id, showing=showing)
    for offer in step.offers:
        await show(context, chat_id, offer_view(offer, t))
