"""Anonymous replies in the chat: the author's opt-in, the full comment list, Reply, Answer.

Decode, call `CommentReplies` once, render. Replying and answering are flows (press,
then type). Every button is checked again on the server: a forged Reply on a comment
that is in no digest this manager sees (another organisation's, a group below k) is
refused, and only the author's own chat opens their route.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.infra.i18n import Translator, _, translator
from bot.services.comment_replies import Offer, ReplyRefused
from bot.services.identity import Identity
from bot.telegram import flows
from bot.telegram.callbacks import decode, encode, pattern
from bot.telegram.context import Answering, CarecheckContext, Replying
from bot.telegram.replies import View, answers_query, button, clip, identify, pressed, say, show

log = logging.getLogger(__name__)

REFUSALS = {
    "offer": _("This button is no longer valid."),
    "not_yours": _("This button is no longer valid."),
    "gone": _("That comment can no longer be answered."),
    "expired": _("The time to reply to that comment is over."),
    "withheld": _("That comment is not shown in this digest, so it cannot be answered."),
    "answered": _("You have already answered this reply."),
    "empty": _("Please send some text."),
    "no_access": _("You cannot see that digest."),
}
REPLIED = _("The team replied to your comment “{comment}”:\n\n{reply}")
ANSWER_BUTTON = _("✍ Answer")
ANSWERED = _("The author of the comment “{comment}” answered your reply:\n\n{answer}")
FLOW_ENDED = _("This has ended. Press the button again to start over.")
OFFER_QUOTE = 200  # characters of the comment quoted in its opt-in
PER_MESSAGE = 5  # comments per message of the full list: well within Telegram's 4096
TEXT = 0


def offer_view(offer: Offer, t: Translator) -> View:
    """The two opt-in buttons after a comment: nothing is stored unless "Yes"."""
    text = t(
        "You wrote: “{comment}”\n\nMay the team reply to your comment here? They will not "
        "see your name or anything else about you. The team reads comments once the weeks "
        "they belong to are over; if you agree, the way back to you is kept encrypted until "
        "30 days after that; /forget removes it.",
        comment=clip(offer.comment, OFFER_QUOTE),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [button(t("✓ Yes, they may reply"), encode("ry", offer.answer_id, offer.proof, "y"))],
            [button(t("✗ No, thanks"), encode("ry", offer.answer_id, offer.proof, "n"))],
        ]
    )
    return View(escape(text), keyboard)


def _refused(t: Translator, refusal: ReplyRefused) -> str:
    log.info("reply step refused: %s", refusal)
    return t(REFUSALS[refusal.code])


@answers_query
async def on_opt_in(update: Update, context: CarecheckContext) -> str | None:
    """The author's Yes or No under their comment."""
    _, message, who, t, data = await pressed(update, context)
    chat_id, message_id = message.chat.id, message.message_id
    if data.choice != "y":
        await show(
            context, chat_id, View(escape(t("Fine: nothing is kept for replies."))), message_id
        )
        return None
    try:
        await context.runtime.replies.opt_in(
            who.telegram_id, data.answer or 0, data.proof or "", who.language
        )
    except ReplyRefused as refusal:
        return _refused(t, refusal)
    text = t("Thank you. If the team replies, you will find it here, and you can answer once.")
    await show(context, chat_id, View(escape(text)), message_id)
    return None


@answers_query
async def on_all_comments(update: Update, context: CarecheckContext) -> str | None:
    """A digest's full comment list, with Reply on those whose authors agreed."""
    _, message, who, t, data = await pressed(update, context)
    org_id, unit_id, period = data.org or 0, data.unit or None, data.period or None
    try:
        listed = await context.runtime.replies.listed(who, org_id, unit_id, period)
    except ReplyRefused as refusal:
        return _refused(t, refusal)
    chat_id = message.chat.id
    if not listed.lines:
        await show(context, chat_id, View(escape(t("This digest holds no comments."))))
        return None
    numbered = list(enumerate(zip(listed.lines, listed.routes, strict=True), start=1))
    for start in range(0, len(numbered), PER_MESSAGE):
        chunk = numbered[start : start + PER_MESSAGE]
        text = "\n\n".join(
            f"{n}. <i>{escape(line.label)}</i>\n{escape(line.text)}" for n, (line, _r) in chunk
        )
        rows = [
            [button(t("↩ Reply to {n}", n=n), encode("rp", org_id, unit_id or 0, period or "", r))]
            for n, (_line, r) in chunk
            if r is not None
        ]
        await show(context, chat_id, View(text, InlineKeyboardMarkup(rows) if rows else None))
    return None


# ---------------------------------------------------------------- a manager's reply


@answers_query
async def reply_entry(update: Update, context: CarecheckContext) -> str | None:
    _, _, who, t, data = await pressed(update, context)
    org_id, unit_id, period = data.org or 0, data.unit or None, data.period or None
    try:
        line = await context.runtime.replies.replyable(
            who, org_id, unit_id, period, data.route or 0
        )
    except ReplyRefused as refusal:
        context.person.replying = None
        raise flows.Next(flows.END, _refused(t, refusal)) from None
    context.person.replying = Replying(
        org_id, unit_id, period, data.route or 0, flows.started(context)
    )
    text = t(
        "Your reply to the comment “{comment}”: send it as one message. The author will "
        "not learn who you are, and you will not learn who they are.",
        comment=line.text,
    )
    await say(update, context, text)
    raise flows.Next(TEXT)


async def _typed(
    update: Update, context: CarecheckContext, since: datetime | None
) -> tuple[Identity, Translator, str] | None:
    """Who typed what in a flow's text step; None (and said so) when the flow ran out."""
    who = await identify(update, context)
    t = translator(who.language)
    if flows.expired(context, since):
        await say(update, context, t(FLOW_ENDED))
        return None
    message = update.effective_message
    assert message is not None and message.text is not None
    return who, t, message.text


async def reply_text(update: Update, context: CarecheckContext) -> int:
    replying, context.person.replying = context.person.replying, None
    typed = await _typed(update, context, replying.since if replying else None)
    if typed is None or replying is None:
        return flows.END
    who, t, text = typed
    try:
        sent = await context.runtime.replies.reply(
            who, replying.org_id, replying.unit_id, replying.period, replying.route, text
        )
    except ReplyRefused as refusal:
        await say(update, context, _refused(t, refusal))
        raise flows.Next(flows.END) from None
    author = translator(sent.language)
    keyboard = InlineKeyboardMarkup([[button(author(ANSWER_BUTTON), encode("ra", sent.route_id))]])
    try:
        await context.bot.send_message(
            sent.chat_id,
            escape(author(REPLIED, comment=sent.comment, reply=sent.text)),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
        )
    except TelegramError as error:
        log.info("a reply along route %d was not delivered: %s", sent.route_id, error)
        await say(update, context, t("The reply could not be delivered."))
        raise flows.Next(flows.END) from None
    await say(update, context, t("Your reply was sent. If the author answers, you get it here."))
    raise flows.Next(flows.END)


# ---------------------------------------------------------------- the author's answer


@answers_query
async def answer_entry(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None
    who = await identify(update, context)
    t = translator(who.language)
    route = decode(query.data).route or 0
    try:
        await context.runtime.replies.answerable(who.telegram_id, route)
    except ReplyRefused as refusal:
        context.person.answering = None
        raise flows.Next(flows.END, _refused(t, refusal)) from None
    context.person.answering = Answering(route, flows.started(context))
    await say(update, context, t("Send your answer as one message. You can answer once."))
    raise flows.Next(TEXT)


async def answer_text(update: Update, context: CarecheckContext) -> int:
    answering, context.person.answering = context.person.answering, None
    typed = await _typed(update, context, answering.since if answering else None)
    if typed is None or answering is None:
        return flows.END
    who, t, text = typed
    try:
        answer = await context.runtime.replies.answer(who.telegram_id, answering.route, text)
    except ReplyRefused as refusal:
        await say(update, context, _refused(t, refusal))
        raise flows.Next(flows.END) from None
    for chat_id, language in answer.recipients:
        text = translator(language)(ANSWERED, comment=answer.comment, answer=answer.text)
        try:
            await context.bot.send_message(chat_id, escape(text), parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("an answer was not delivered to a replier: %s", error)
    await say(update, context, t("Your answer was sent. Your name stays hidden."))
    raise flows.Next(flows.END)


def _text_flow(
    name: str, entry: object, kind: str, step: object, leave: flows.Leave
) -> ConversationHandler[CarecheckContext]:
    text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    return flows.declare(
        name,
        entry_points=[CallbackQueryHandler(entry, pattern=pattern(kind))],  # type: ignore[arg-type]
        states={TEXT: [MessageHandler(text, step)]},  # type: ignore[arg-type]
        leave=leave,
    )


def reply_flow() -> ConversationHandler[CarecheckContext]:
    def leave(context: CarecheckContext) -> None:
        context.person.replying = None

    return _text_flow("replying to a comment", reply_entry, "rp", reply_text, leave)


def answer_flow() -> ConversationHandler[CarecheckContext]:
    def leave(context: CarecheckContext) -> None:
        context.person.answering = None

    return _text_flow("answering a reply", answer_entry, "ra", answer_text, leave)
