"""How anything reaches the chat: who is writing, a view shown or edited, a query answered once.

Every handler of a button is wrapped by `answers_query`: whatever happens inside, the
query is answered exactly once, with the short notice the handler returns or, if it
failed, "your answers are saved" in the sender's language (the log gets the detail).
Retrying a failed answer is the transport's job (`ratelimit`), decided in one place.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from html import escape
from typing import Any, NamedTuple

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.infra.i18n import DEFAULT_LANGUAGE, Translator, _, translator
from bot.infra.message_split import split_message, units
from bot.services.identity import Identity
from bot.services.refusal import Refusal
from bot.telegram.callbacks import Callback, decode
from bot.telegram.context import CarecheckContext, ViewKey

log = logging.getLogger(__name__)

CALLBACK_TEXT_LIMIT = 200
WHICH_ORGANISATION = _("Which organisation?")
NO_ORGANISATIONS = _("There are no organisations yet: create one with carecheck org create.")
SOMETHING_WRONG = _(
    "Something went wrong. Your answers so far are saved; please try again in a moment."
)

ButtonHandler = Callable[[Update, CarecheckContext], Coroutine[Any, Any, str | None]]
Handler = Callable[[Update, CarecheckContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class View:
    """One message as it is shown: HTML text and, maybe, buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None

    def key(self) -> ViewKey:
        """What Telegram compares for "message is not modified": text and buttons."""
        return self.text, buttons_of(self.keyboard)


def buttons_of(keyboard: InlineKeyboardMarkup | None) -> tuple[tuple[tuple[str, str], ...], ...]:
    if keyboard is None:
        return ()
    return tuple(
        tuple((b.text, str(b.callback_data or b.url or "")) for b in row)
        for row in keyboard.inline_keyboard
    )


async def identify(update: Update, context: CarecheckContext) -> Identity:
    user = update.effective_user
    assert user is not None
    return await context.runtime.identities.identify(user.id, user.language_code)


class Press(NamedTuple):
    """A button press as every button's handler starts from: decoded once, here."""

    query: CallbackQuery
    message: MaybeInaccessibleMessage
    who: Identity
    t: Translator
    data: Callback


async def pressed(update: Update, context: CarecheckContext) -> Press:
    """The press, the message it was on, who pressed, their translator and the decoded data.

    Raises BadCallback for data that are not ours: the routes' patterns admit only
    well-formed kinds, so that is a forged press, and `answers_query` answers it.
    """
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    return Press(query, query.message, who, translator(who.language), decode(query.data))


async def sender_language(update: Update, context: CarecheckContext) -> str:
    """The sender's language, or English when even that cannot be looked up."""
    try:
        if update.effective_user is not None:
            return (await identify(update, context)).language
    except Exception:  # the database itself may be what failed
        log.warning("update %s: could not look up the sender's language", update.update_id)
    return DEFAULT_LANGUAGE


def refusal_text(t: Translator, refusal: Refusal) -> str:
    terms = {name: t(term) for name, term in refusal.terms.items()}
    return t(refusal.message, **refusal.params, **terms)


async def show(
    context: CarecheckContext,
    chat_id: int,
    view: View,
    message_id: int | None = None,
    showing: InlineKeyboardMarkup | None = None,
) -> int:
    """Edit `message_id` to the view, unless it shows it already; or send a new message.

    `showing` is the pressed message's keyboard as Telegram reports it: when it is
    the view's (an edit arrived after the person tapped), there is nothing to edit.
    """
    shown = context.bot_data.shown
    key = view.key()
    if message_id is not None:
        if shown.get((chat_id, message_id)) == key or (
            showing is not None and view.keyboard is not None and buttons_of(showing) == key[1]
        ):
            shown[(chat_id, message_id)] = key
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
    return message.message_id


async def say(update: Update, context: CarecheckContext, text: str) -> None:
    """Plain text (translated sentences, maybe quoting what someone typed) as new messages."""
    chat = update.effective_chat
    assert chat is not None
    for piece in split_message(escape(text)):
        await context.bot.send_message(chat.id, piece, parse_mode=ParseMode.HTML)


async def tell(update: Update, context: CarecheckContext, message: str) -> None:
    """One catalogue sentence, in the sender's language, as a new message."""
    await say(update, context, translator(await sender_language(update, context))(message))


async def choose_organisation(
    update: Update, context: CarecheckContext, t: Translator, data: Callable[[int], str]
) -> None:
    """A global administrator's command needs an organisation: one button for each."""
    orgs = [(org.id, org.name) for org in await context.runtime.organisations.all()]
    chat = update.effective_chat
    assert chat is not None
    if not orgs:
        await say(update, context, t(NO_ORGANISATIONS))
        return
    keyboard = InlineKeyboardMarkup([[button(name[:60], data(org_id))] for org_id, name in orgs])
    await show(context, chat.id, View(escape(t(WHICH_ORGANISATION)), keyboard))


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def clip(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units of plain text, as Telegram counts them."""
    if units(text) <= limit:
        return text
    while units(text) > limit - 1:
        text = text[:-1]
    return text + "…"


def answers_query(handler: ButtonHandler) -> Handler:
    """A button's handler whose query is answered exactly once, with the notice it returns.

    A flow's step ends by raising ApplicationHandlerStop with its next state (a
    `flows.Next`, which may carry the notice): the query is answered all the same.
    """

    @functools.wraps(handler)
    async def answered(update: Update, context: CarecheckContext) -> None:
        query = update.callback_query
        assert query is not None
        notice: str | None = None
        try:
            notice = await handler(update, context)
        except ApplicationHandlerStop as stop:
            notice = getattr(stop, "notice", None)
            raise
        except Exception:
            log.exception("update %s failed", update.update_id)
            notice = translator(await sender_language(update, context))(SOMETHING_WRONG)
        finally:
            try:
                await query.answer(clip(notice, CALLBACK_TEXT_LIMIT) if notice else None)
            except TelegramError as error:
                # The update's number, not the query's id: that id is Telegram's and may
                # carry more than we want in a log.
                log.info("answering the query of update %s failed: %s", update.update_id, error)

    return answered
