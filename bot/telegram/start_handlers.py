"""Joining and starting: /start with a link, /checkin, /language, /help, /stop, /invite,
and the buttons of a check-in invitation and of the language choice.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode

from bot.infra.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, _, translator
from bot.services.identity import Identity
from bot.services.onboarding import Began, ChooseLanguage, Started, Welcomed
from bot.services.permissions import ROLE_NAMES, commands_for, is_global_admin
from bot.services.refusal import Refusal
from bot.telegram.callbacks import encode
from bot.telegram.command_args import ChooseOrganisation, invite_request
from bot.telegram.command_menu import publish_menu
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import (
    View,
    answers_query,
    choose_organisation,
    identify,
    pressed,
    refusal_text,
    say,
    show,
)
from bot.telegram.screens import (
    checkin_invitation,
    intro_text,
    language_keyboard,
    step_view,
)

WELCOME_BACK = _("Welcome back! Send /checkin to answer this week's check-in, or /help.")
NEEDS_A_LINK = _(
    "Hello! This bot works with an invitation link from your organisation. "
    "Please open the link you were given."
)
INVALID_LINK = _("This link is not valid. Please ask for a new one.")
CHOOSE_LANGUAGE = _("Please choose your language")
NO_LONGER_VALID = _("This button is no longer valid.")
RESUMED = _("Welcome back: continuing where you left off.")
GLOBAL_ADMIN_HELP = _(
    "As an administrator of every organisation, you choose the organisation "
    "after /digest, /actions and /invite."
)


async def on_start(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    args = context.args or []
    if not args:
        await say(update, context, t(WELCOME_BACK if who.person is not None else NEEDS_A_LINK))
        return
    if len(args) > 1:
        await say(update, context, t(INVALID_LINK))
        return
    await show_started(update, context, who, await context.runtime.onboarding.start(who, args[0]))


async def show_started(
    update: Update,
    context: CarecheckContext,
    who: Identity,
    started: Started | None,
    message_id: int | None = None,
) -> None:
    """Whatever joining or starting came to, shown in the chat."""
    t = translator(who.language)
    chat = update.effective_chat
    assert chat is not None
    if started is None:
        return
    if isinstance(started, Refusal):
        await say(update, context, refusal_text(t, started))
    elif isinstance(started, ChooseLanguage):
        question = " · ".join(translator(lang)(CHOOSE_LANGUAGE) for lang in LANGUAGES)
        await context.bot.send_message(
            chat.id, escape(question), reply_markup=language_keyboard(started.code)
        )
    elif isinstance(started, Welcomed):
        joined = await identify(update, context)
        await publish_menu(context.bot, context.runtime.identities, joined)
        role = t(ROLE_NAMES[started.role])
        text = t("Welcome to {org}! Your role: {role}.", org=started.org.name, role=role)
        text += "\n" + t(
            "Each week you will get a short check-in; it takes "
            "about a minute. Your answers are only ever reported for groups, never "
            "one by one."
        )
        keyboard = checkin_invitation(t, reminder=False).keyboard
        await show(context, chat.id, View(escape(text), keyboard))
    else:
        await show_began(update, context, t, started, message_id)


async def show_began(
    update: Update,
    context: CarecheckContext,
    t: Translator,
    began: Began,
    message_id: int | None = None,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    step = began.step
    if step.resumed:
        await say(update, context, t(RESUMED))
    elif message_id is None:
        await context.bot.send_message(chat.id, intro_text(step, t), parse_mode=ParseMode.HTML)
    await show(context, chat.id, step_view(step, t), message_id)


async def on_checkin(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    outcome = await context.runtime.onboarding.checkin(who)
    await show_started(update, context, who, outcome)


@answers_query
async def on_start_checkin(update: Update, context: CarecheckContext) -> str | None:
    """ "Start now" on a check-in invitation: the invitation becomes the first question."""
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    t = translator(who.language)
    outcome = await context.runtime.onboarding.checkin(who)
    if isinstance(outcome, Refusal) and outcome.code == "already_answered":
        view = View(escape(refusal_text(t, outcome)))
        await show(context, query.message.chat.id, view, query.message.message_id)
        return None
    if isinstance(outcome, Refusal):
        await say(update, context, refusal_text(t, outcome))
        return None
    await show_began(update, context, t, outcome, query.message.message_id)
    return None


@answers_query
async def on_remind_later(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    t = translator(who.language)
    if not await context.runtime.checkins.snooze(who):
        return t(NO_LONGER_VALID)
    text = t("All right, I will remind you in about three hours.")
    await show(context, query.message.chat.id, View(escape(text)), query.message.message_id)
    return None


@answers_query
async def on_language_button(update: Update, context: CarecheckContext) -> str | None:
    _, message, who, t, data = await pressed(update, context)
    language = data.language or ""
    if language not in LANGUAGES:
        return t(NO_LONGER_VALID)
    started = await context.runtime.onboarding.choose_language(who, language, data.code or "")
    if who.person is not None:
        chosen = await identify(update, context)
        await publish_menu(context.bot, context.runtime.identities, chosen)
    t = translator(language)
    text = escape(t("Language: {name}", name=LANGUAGE_NAMES[language]))
    await show(context, message.chat.id, View(text), message.message_id)
    chosen = await identify(update, context)
    await show_started(update, context, chosen, started)
    return None


async def on_language(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(
        chat.id, escape(t("Choose your language:")), reply_markup=language_keyboard()
    )


async def on_help(update: Update, context: CarecheckContext) -> None:
    """What this person may do: the same table the server checks and the menu shows."""
    who = await identify(update, context)
    t = translator(who.language)
    lines = [t("carecheck asks short questions about the quality of our service.")]
    lines += [t(command.help) for command in commands_for(who.memberships)]
    if is_global_admin(who.memberships):
        lines.append(t(GLOBAL_ADMIN_HELP))
    await say(update, context, "\n".join(lines))


async def on_stop(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    if await context.runtime.onboarding.stop(who):
        text = t(
            "You will get no more weekly check-ins. Send /checkin whenever you want "
            "to answer anyway."
        )
    else:
        text = t("There is nothing to stop: you get no weekly check-ins.")
    await say(update, context, text)


async def on_invite(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    request = invite_request(who, context.args or [])
    if isinstance(request, Refusal):
        await say(update, context, refusal_text(t, request))
    elif isinstance(request, ChooseOrganisation):
        role = request.detail
        await choose_organisation(update, context, t, lambda org: encode("iv", role, org))
    else:
        await make_invitation(update, context, who, request.role, None)


@answers_query
async def on_invite_button(update: Update, context: CarecheckContext) -> str | None:
    """A global administrator chose the organisation of an invitation link."""
    _, _, who, _, data = await pressed(update, context)
    await make_invitation(update, context, who, data.role or "", data.org or 0)
    return None


async def make_invitation(
    update: Update, context: CarecheckContext, who: Identity, role: str, org_id: int | None
) -> None:
    t = translator(who.language)
    made = await context.runtime.invitations.in_chat(who, role, org_id)
    if isinstance(made, Refusal):
        await say(update, context, refusal_text(t, made))
        return
    link = f"https://t.me/{context.bot.username}?start={made.code}"
    heading = t("Invitation link, role: {role}", role=t(ROLE_NAMES[made.role]))
    await say(update, context, heading + "\n" + link)
