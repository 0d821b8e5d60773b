"""Telegram handlers: parse the update, call the services, render the result.

Every handler answers in the sender's language and never lets an exception
escape: a refused step gets a one-line explanation, anything unexpected is
logged with the update id and answered with "your answers are saved".
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from html import escape

from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes

from bot.infra.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, _, translator
from bot.services.dialog_phrases import YES_NO_LABELS, explain
from bot.services.dialog_service import AlreadySubmitted, NotYourSession, Respondent, Step
from bot.services.onboarding import INVITE_CODE, Identity
from bot.services.script_registry import ScriptNotFound
from bot.telegram import digest_handlers, script_handlers
from bot.telegram import screens as render
from bot.telegram.callbacks import BadCallback, Callback, decode
from bot.telegram.replies import (
    SERVICES,
    BotServices,
    identify,
    say,
    services,
    show,
    step_view,
    tell,
)
from bot.telegram.screens import View
from dialogs.engine import NOT_APPLICABLE
from dialogs.errors import (
    DialogError,
    InvalidAnswer,
    SessionFinished,
    SessionPaused,
    StaleQuestion,
)
from storage.errors import InviteError
from storage.notifications import NotificationRepo

log = logging.getLogger(__name__)

STAFF_SCRIPT = "staff-pulse"
SERVICE_USER_SCRIPT = "service-user"
SNOOZE = timedelta(hours=3)
CALLBACK_TEXT_LIMIT = 200
ANSWER_RETRY_PAUSE = 0.5  # seconds
# Refusals meaning the pressed message is behind the dialog (an earlier question, a
# finished or paused session): the message is brought up to date, so a person whose
# screen missed an edit (it failed, or the bot restarted in between) can carry on.
REDRAWN = frozenset({"stale", "finished", "paused"})
MESSAGE_LOCKS = "carecheck.message_locks"
SOMETHING_WRONG = _(
    "Something went wrong. Your answers so far are saved; please try again in a moment."
)

INVALID_LINK = _("This link is not valid. Please ask for a new one.")
INVITE_ERRORS = {
    "unknown": INVALID_LINK,
    "expired": _("This link has expired. Please ask for a new one."),
    "revoked": _("This link has been withdrawn. Please ask for a new one."),
    "used_up": _("This link has been used up. Please ask for a new one."),
}
CHOOSE_LANGUAGE = _("Please choose your language")
STAFF_ONLY = _("Check-ins are for staff who joined with an invitation link.")
ROLE_NAMES = {
    "staff": _("staff member"),
    "manager": _("manager"),
    "admin": _("administrator"),
    "service_user": _("service user"),
}


# ---------------------------------------------------------------- commands


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    args = context.args or []
    if not args:
        if who.person is not None:
            await say(
                update,
                context,
                t("Welcome back! Send /checkin to answer this week's check-in, or /help."),
            )
        else:
            await say(
                update,
                context,
                t(
                    "Hello! This bot works with an invitation link from your organisation. "
                    "Please open the link you were given."
                ),
            )
        return
    code = args[0]
    if len(args) > 1 or not INVITE_CODE.match(code):
        await say(update, context, t(INVALID_LINK))
        return
    svc = services(context)
    try:
        invite = await svc.onboarding.peek_invite(code, svc.clock())
    except InviteError as error:
        await say(update, context, t(INVITE_ERRORS.get(error.reason, INVALID_LINK)))
        return
    if invite.role == "service_user" and not who.language_known:
        await context.bot.send_message(
            update.effective_chat.id,  # type: ignore[union-attr]
            escape(" · ".join(translator(lang)(CHOOSE_LANGUAGE) for lang in LANGUAGES)),
            reply_markup=render.language_keyboard(code),
        )
        return
    await join_and_begin(update, context, who, code)


async def join_and_begin(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, code: str
) -> None:
    svc = services(context)
    t = translator(who.language)
    try:
        joined = await svc.onboarding.join(code, who, svc.clock())
    except InviteError as error:
        await say(update, context, t(INVITE_ERRORS.get(error.reason, INVALID_LINK)))
        return
    if joined.person is None:
        await begin_dialog(
            update, context, who, SERVICE_USER_SCRIPT, joined.org.id, joined.invite.unit_id
        )
        return
    role = t(ROLE_NAMES[joined.invite.role])
    text = t("Welcome to {org}! Your role: {role}.", org=joined.org.name, role=role)
    text += "\n" + t(
        "Each week you will get a short check-in; it takes "
        "about a minute. Your answers are only ever reported for groups, never "
        "one by one."
    )
    keyboard = render.checkin_invitation(t, reminder=False).keyboard
    await show(context, update.effective_chat.id, View(escape(text), keyboard))  # type: ignore[union-attr]


async def begin_dialog(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    script_id: str,
    org_id: int,
    unit_id: int | None,
    message_id: int | None = None,
) -> None:
    """Start or resume a session and show its current screen."""
    svc = services(context)
    t = translator(who.language)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    today = await svc.org_today(org_id)
    respondent = (
        Respondent(person_id=who.person.id)
        if script_id == STAFF_SCRIPT and who.person is not None
        else Respondent(key=who.key)
    )
    try:
        step = await svc.runtime.dialogs.begin(
            script_id=script_id,
            org_id=org_id,
            unit_id=unit_id,
            respondent=respondent,
            today=today,
        )
    except AlreadySubmitted:
        await show(
            context,
            chat_id,
            View(escape(t("You have already answered this week. Thank you!"))),
            message_id,
        )
        return
    except ScriptNotFound:
        log.error("no active script %s for organisation %s", script_id, org_id)
        await say(update, context, t("This questionnaire is not available right now."))
        return
    if step.resumed:
        await say(update, context, t("Welcome back: continuing where you left off."))
    elif message_id is None:
        await context.bot.send_message(
            chat_id, render.intro_text(step, t), parse_mode=ParseMode.HTML
        )
    await show(context, chat_id, await step_view(step, t, context), message_id)


async def on_checkin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    await start_checkin(update, context, who)


async def start_checkin(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, message_id: int | None = None
) -> None:
    home = who.home
    if home is None or not who.may("checkin", home.org_id, home.unit_id):
        await say(
            update,
            context,
            translator(who.language)(STAFF_ONLY),
        )
        return
    await begin_dialog(update, context, who, STAFF_SCRIPT, home.org_id, home.unit_id, message_id)  # type: ignore[arg-type]


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    await context.bot.send_message(
        update.effective_chat.id,  # type: ignore[union-attr]
        escape(t("Choose your language:")),
        reply_markup=render.language_keyboard(),
    )


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    lines = [t("carecheck asks short questions about the quality of our service.")]
    if who.home is not None:
        lines.append(t("/checkin: answer this week's check-in now"))
        lines.append(t("/stop: no more weekly check-ins"))
    if any(who.may("invite_staff", m.org_id) for m in who.memberships):
        lines.append(t("/invite staff|service_user|manager|admin: make an invitation link"))
    lines += [
        t("/language: change the language"),
        t("/privacy: what is stored about you"),
        t("/forget: delete what is stored about you"),
    ]
    await say(update, context, "\n".join(lines))


async def on_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    if await services(context).onboarding.stop(who):
        await say(
            update,
            context,
            t(
                "You will get no more weekly check-ins. Send /checkin whenever you want "
                "to answer anyway."
            ),
        )
    else:
        await say(update, context, t("There is nothing to stop: you get no weekly check-ins."))


async def on_invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    svc = services(context)
    args = context.args or []
    role = args[0] if args else "staff"
    home = next((m for m in who.memberships if m.role in ("manager", "admin") and m.org_id), None)
    if home is None or not who.may("invite_staff", home.org_id):
        await say(update, context, t("Only managers and administrators can make invitation links."))
        return
    if role not in ROLE_NAMES or len(args) > 1:
        await say(update, context, t("Usage: /invite staff|service_user|manager|admin"))
        return
    needed = "invite_staff" if role in ("staff", "service_user") else "invite_any"
    if not who.may(needed, home.org_id):  # type: ignore[arg-type]
        await say(
            update, context, t("You cannot invite this role: {role}.", role=t(ROLE_NAMES[role]))
        )
        return
    invite = await svc.onboarding.create_invite(
        who,
        home.org_id,
        role,
        home.unit_id,
        None if role == "service_user" else 1,
        14,
        svc.clock(),  # type: ignore[arg-type]
    )
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    await say(
        update, context, t("Invitation link, role: {role}", role=t(ROLE_NAMES[role])) + "\n" + link
    )


# ---------------------------------------------------------------- buttons


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    notice = ""
    try:
        notice = await handle_button(update, context)
    except Exception:
        # Handled here, not in on_error: the query must be answered exactly once.
        log.exception("update %s failed", update.update_id)
        notice = translator(await _language_or_default(update, context))(SOMETHING_WRONG)
    finally:
        await _answer(query, notice[:CALLBACK_TEXT_LIMIT] or None)


async def _answer(query: CallbackQuery, notice: str | None) -> None:
    """Answer a callback query, once more after a transport failure (502, a dropped
    connection): otherwise the person's button spins with no word from the bot. If
    the first answer did get through, the second is refused and only logged."""
    for attempt in range(2):
        try:
            await query.answer(notice)
            return
        except TelegramError as error:
            if type(error) not in (NetworkError, TimedOut) or attempt == 1:
                log.info("answering callback query %s failed: %s", query.id, error)
                return
            await asyncio.sleep(ANSWER_RETRY_PAUSE)


async def handle_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Apply a button press; returns the short notice for the callback answer."""
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    t = translator(who.language)
    try:
        data = decode(query.data)
    except BadCallback as error:
        log.info("update %s: refused callback data (%s)", update.update_id, error)
        return t("This button is no longer valid.")
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if data.kind == "L":
        return await choose_language(update, context, who, data, message_id)
    if data.kind == "go":
        await start_checkin(update, context, who, message_id)
        return ""
    if data.kind == "later":
        return await snooze(update, context, who, message_id)
    if data.kind in ("dp", "du", "dx"):
        return await script_handlers.draft_button(update, context, who, data, message_id)
    if data.kind in ("sx", "sr"):
        return await script_handlers.version_button(update, context, who, data, message_id)
    if data.kind == "ap":
        return await digest_handlers.plan_button(update, context, who, data)
    if data.kind == "ao":
        return await digest_handlers.owner_skip_button(update, context, who, message_id)
    if data.kind == "aw":
        return await digest_handlers.due_button(update, context, who, data, message_id)
    if data.kind == "as":
        return await digest_handlers.status_button(update, context, who, data, message_id)
    return await dialog_button(context, who, t, data, chat_id, message_id, query.message)


async def dialog_button(
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    t: Translator,
    data: Callback,
    chat_id: int,
    message_id: int,
    pressed: object = None,
) -> str:
    svc = services(context)
    assert data.session is not None
    if data.session == script_handlers.PREVIEW_SESSION:
        return await preview_button(context, who, t, data, chat_id, message_id)
    respondent = Respondent(person_id=who.person.id if who.person else None, key=who.key)
    dialogs = svc.runtime.dialogs
    try:
        current = await dialogs.current(data.session, respondent)
        _check_current(current, data)
        today = await svc.org_today(current.org_id)
        action, value = _button_action(current, data)
        step = await dialogs.step(
            data.session,
            respondent,
            action,  # type: ignore[arg-type]
            value,
            step=data.step,
            today=today,
        )
    except NotYourSession:
        finished = await _finished_feedback(context, data.session, _sessions_in(pressed))
        if finished is None:
            return t("This button is not for you.")
        async with _message_lock(context, chat_id, message_id):
            await show(context, chat_id, await step_view(finished, t, context), message_id)
        return explain(t, SessionFinished("the session is finished"))
    except DialogError as error:
        if error.code in REDRAWN:
            await _redraw(context, respondent, t, data.session, chat_id, message_id, pressed)
        return explain(t, error)
    async with _message_lock(context, chat_id, message_id):
        await show(context, chat_id, await step_view(step, t, context), message_id)
    return ""


async def _redraw(
    context: ContextTypes.DEFAULT_TYPE,
    respondent: Respondent,
    t: Translator,
    session_id: int,
    chat_id: int,
    message_id: int,
    pressed: object = None,
) -> None:
    """Show the session's current screen in the pressed message, unless it shows it.

    Telegram reports the pressed message as it is: when its buttons are the current
    screen's (an edit arrived after the person tapped), there is nothing to redraw.
    """
    try:
        current = await services(context).runtime.dialogs.current(session_id, respondent)
    except (NotYourSession, DialogError):
        return
    view = await step_view(current, t, context)
    if view.keyboard is not None and _markup(pressed) == view.keyboard.to_dict():
        services(context).shown[(chat_id, message_id)] = view.key()
        return
    async with _message_lock(context, chat_id, message_id):
        await show(context, chat_id, view, message_id)


def _markup(message: object) -> dict[str, object] | None:
    markup = getattr(message, "reply_markup", None)
    return None if markup is None else markup.to_dict()  # type: ignore[no-any-return]


def _sessions_in(message: object) -> frozenset[int]:
    """The sessions whose buttons the pressed message shows, as Telegram reports it."""
    markup = getattr(message, "reply_markup", None)
    found = set()
    for row in getattr(markup, "inline_keyboard", ()):
        for key in row:
            try:
                found.add(decode(key.callback_data).session)
            except BadCallback:
                continue
    return frozenset(s for s in found if s is not None)


async def _finished_feedback(
    context: ContextTypes.DEFAULT_TYPE, session_id: int, carried: frozenset[int]
) -> Step | None:
    """A service user's finished feedback, pressed on a message showing its buttons.

    Finishing erases the respondent's key from the session, so the key can no longer
    show whose it was. The pressed message can: Telegram, not the client, reports
    it, and only the respondent's chat has a message with this session's buttons.
    """
    if session_id not in carried:
        return None
    runtime = services(context).runtime
    row = await runtime.dialogs.sessions.get(session_id)
    if row is None or row.audience != "service_user" or row.status != "done":
        return None
    loaded = await runtime.scripts.by_version_id(row.script_version_id)
    return Step(row.id, row.org_id, loaded, loaded.engine.restore(row.state_json).screen())


def _message_lock(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int
) -> asyncio.Lock:
    """One edit of a message at a time: a double tap's redraw then finds the first
    edit done (and skips it) instead of repeating it ("message is not modified")."""
    return _stripe(context, MESSAGE_LOCKS, (chat_id, message_id))


def _stripe(context: ContextTypes.DEFAULT_TYPE, name: str, key: object) -> asyncio.Lock:
    """One of a fixed set of locks for `key`: bounded memory, rare sharing."""
    locks: list[asyncio.Lock] | None = context.application.bot_data.get(name)
    if locks is None:
        locks = context.application.bot_data[name] = [asyncio.Lock() for _ in range(64)]
    return locks[hash(key) % len(locks)]


async def preview_button(
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    t: Translator,
    data: Callback,
    chat_id: int,
    message_id: int,
) -> str:
    """A button in an admin's preview of a draft: played in memory, never stored."""
    preview = script_handlers.preview_of(context, who)
    if preview is None:
        return t("This preview has ended.")
    current = Step(0, 0, preview.loaded, preview.session.screen())
    try:
        action, value = _button_action(current, data)
    except DialogError as error:
        return explain(t, error)
    result = await script_handlers.preview_step(context, who, t, action, value, data.step)
    if isinstance(result, str):
        return result
    await show(context, chat_id, await step_view(result, t, context), message_id)
    return ""


def _check_current(current: Step, data: Callback) -> None:
    """Refuse a button of another screen before reading its option against this one.

    An option index only means something on the screen that showed it: read against
    the current question it would be out of range, or a different answer.
    """
    screen = current.screen
    if screen.phase == "done":
        raise SessionFinished("the session is finished")
    if data.kind == "r":
        return
    if screen.phase == "paused":
        raise SessionPaused("the session is paused")
    if data.step is not None and data.step != screen.step:
        raise StaleQuestion(f"step {data.step} is not the current step {screen.step}")


def _button_action(current: Step, data: Callback) -> tuple[str, object]:
    """The dialog action a button stands for; option indexes become the script's values."""
    kind = data.kind
    if kind in ("s", "b", "p", "r"):
        return {"s": "skip", "b": "back", "p": "pause", "r": "resume"}[kind], None
    question = current.screen.question
    if kind == "c":
        return "answer", list(current.screen.selected)
    if question is None or data.index is None:
        raise InvalidAnswer("not_an_option", "no question on this screen")
    if data.index == "n":
        return "answer", NOT_APPLICABLE
    if not data.index.isdigit():
        raise InvalidAnswer("not_an_option", f"bad index {data.index!r}")
    index = int(data.index)
    if question.type == "nps":
        return "answer", index
    values = (
        list(YES_NO_LABELS)
        if question.type == "yes_no"
        else [str(o.value) for o in current.loaded.engine.options(question)]
    )
    if index >= len(values):
        raise InvalidAnswer("not_an_option", f"index {index} out of range")
    return ("toggle" if kind == "t" else "answer"), values[index]


async def choose_language(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    data: Callback,
    message_id: int,
) -> str:
    svc = services(context)
    language = data.language or ""
    if language not in LANGUAGES:
        return translator(who.language)("This button is no longer valid.")
    await svc.onboarding.set_language(who, language, svc.clock().date())
    who = await svc.onboarding.identify(who.telegram_id, language)
    t = translator(language)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    await show(
        context,
        chat_id,
        View(escape(t("Language: {name}", name=LANGUAGE_NAMES[language]))),
        message_id,
    )
    if data.code:
        await join_and_begin(update, context, who, data.code)
    return ""


async def snooze(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, message_id: int
) -> str:
    t = translator(who.language)
    home = who.home
    if who.person is None or home is None or home.org_id is None:
        return t("This button is no longer valid.")
    svc = services(context)
    await NotificationRepo(svc.runtime.db).snooze(who.person.id, home.org_id, svc.clock() + SNOOZE)
    text = t("All right, I will remind you in about three hours.")
    await show(context, update.effective_chat.id, View(escape(text)), message_id)  # type: ignore[union-attr]
    return ""


# ---------------------------------------------------------------- messages


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message: the answer to a text question or a follow-up, else a hint."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await identify(update, context)
    t = translator(who.language)
    svc = services(context)
    dialogs = svc.runtime.dialogs
    if await digest_handlers.planning_text(update, context, who, message.text):
        return
    preview = script_handlers.preview_of(context, who)
    if preview is not None and _wants_text(Step(0, 0, preview.loaded, preview.session.screen())):
        result = await script_handlers.preview_step(context, who, t, "answer", message.text, None)
        if isinstance(result, str):
            await say(update, context, result)
        else:
            await show(context, message.chat.id, await step_view(result, t, context))
        return
    row = None
    if who.person is not None:
        row = await dialogs.sessions.latest_open(person_id=who.person.id)
    if row is None:
        row = await dialogs.sessions.latest_open(respondent_key=who.key)
    if row is None:
        await say(update, context, t("Please use the buttons, or send /help."))
        return
    respondent = Respondent(person_id=who.person.id if who.person else None, key=who.key)
    try:
        current = await dialogs.current(row.id, respondent)
        if not _wants_text(current):
            await say(update, context, t("Please answer with the buttons above."))
            return
        step = await dialogs.step(
            row.id,
            respondent,
            "answer",
            message.text,
            today=await svc.org_today(row.org_id),
            input_key=f"m{message.message_id}",
        )
    except NotYourSession:
        await say(update, context, t("Please use the buttons, or send /help."))
        return
    except DialogError as error:
        await say(update, context, explain(t, error))
        return
    if step.duplicate:
        return
    await show(context, message.chat.id, await step_view(step, t, context))


def _wants_text(step: Step) -> bool:
    """Whether the screen waits for a typed message rather than a button."""
    screen = step.screen
    if screen.phase == "follow_up":
        return True
    return (
        screen.phase == "asking" and screen.question is not None and screen.question.type == "text"
    )


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like: say what the bot understands."""
    await tell(update, context, _("I can only read text messages and button presses."))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await tell(update, context, _("I do not know that command. Send /help to see what I can do."))


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with the update id and tell the person their answers are safe."""
    update_id = getattr(update, "update_id", None)
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != update.effective_chat.PRIVATE:
        return
    if update.callback_query is not None:
        return  # on_button answered it
    language = await _language_or_default(update, context)
    text = translator(language)(SOMETHING_WRONG)
    try:
        await context.bot.send_message(
            update.effective_chat.id, escape(text), parse_mode=ParseMode.HTML
        )
    except TelegramError:
        log.warning("update %s: could not tell the sender about the failure", update_id)


async def _language_or_default(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    try:
        if update.effective_user is not None:
            return (await identify(update, context)).language
    except Exception:  # the database itself may be what failed
        log.warning("update %s: could not look up the sender's language", update.update_id)
    return "en"


def install(application: Application, services_: BotServices) -> None:  # type: ignore[type-arg]
    application.bot_data[SERVICES] = services_
