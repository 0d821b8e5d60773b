"""Managers in the chat: /digest, the weekly digest's messages, improvement actions (PDCA).

Planning an action is a flow (title, owner, due date) kept per person in memory: a
half-planned action is cheap to start again after a restart. Every button re-checks
access on the server: callback data can name any organisation, item or action.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import Bot, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.infra.i18n import Translator, _, translator
from bot.services.digests.digest_access import AccessDenied, can_view
from bot.services.digests.digest_compute import DigestError
from bot.services.digests.digest_delivery import digest_for
from bot.services.digests.digest_render import RenderedDigest
from bot.services.digests.improvement_actions import (
    DUE_WEEKS,
    ActionError,
    list_actions,
    may_plan,
    plan_action,
    set_action_status,
)
from bot.services.identity import Identity
from bot.services.refusal import Refusal
from bot.telegram import flows
from bot.telegram.callbacks import decode, encode, pattern
from bot.telegram.command_args import (
    ACTIONS_REFUSED,
    DIGEST_USAGE,
    ChooseOrganisation,
    DigestRequest,
    Scope,
    actions_scope,
    digest_request,
)
from bot.telegram.context import CarecheckContext, Plan
from bot.telegram.replies import (
    View,
    answers_query,
    button,
    choose_organisation,
    identify,
    pressed,
    refusal_text,
    say,
    show,
)
from storage.actions import Action
from storage.errors import NotFound

log = logging.getLogger(__name__)

STATUS_CODES = {"s": "started", "d": "done", "x": "dropped"}
STATUS_BUTTONS = {"s": _("▶ Started"), "d": _("✓ Done"), "x": _("✗ Dropped")}
ITEM_GONE = _("That item is not in the framework any more.")
ACTION_ERRORS = {
    "no_title": _("An action needs a title."),
    "unknown_item": ITEM_GONE,
    "unchanged": _("The action already has that status."),
}
STATUS_NAMES = {
    "open": _("open"),
    "started": _("started"),
    "done": _("done"),
    "dropped": _("dropped"),
}
NO_PLAN = _("Only managers of this organisation can plan actions.")
PLAN_ENDED = _("This plan has ended. Start again from the digest.")
DID_NOT_WORK = _("That did not work. Please try again.")
WE_DID = _("You said, we did")
CHANGED_AFTER = _("Changed after your feedback on “{principle}”.")
TITLE, OWNER, DUE = range(3)


async def send_digest(bot: Bot, chat_id: int, rendered: RenderedDigest, t: Translator) -> None:
    """The digest as messages, the chart, the printable report, and "plan an action" buttons."""
    for part in rendered.parts:
        await send_digest_part(bot, chat_id, rendered, part, t)


async def send_digest_part(
    bot: Bot, chat_id: int, rendered: RenderedDigest, part: str, t: Translator
) -> None:
    """One part of a digest (see `RenderedDigest.parts`): sent, or failed, alone."""
    if part.startswith("message "):
        text = rendered.messages[int(part.removeprefix("message ")) - 1]
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    elif part == "chart":
        await bot.send_photo(chat_id, InputFile(rendered.chart_png, filename="digest.png"))
    elif part == "report":
        report = rendered.report_html.encode("utf-8")
        await bot.send_document(chat_id, InputFile(report, filename=rendered.report_name))
    elif part == "plan":
        unit = rendered.unit_id or 0
        rows = [
            [
                button(
                    t("📝 Plan an action: {item}", item=name)[:60],
                    encode("ap", rendered.org_id, unit, rendered.lens, item),
                )
            ]
            for item, name in rendered.weak_items
        ]
        await bot.send_message(
            chat_id,
            escape(t("Weak spots: plan an improvement action?")),
            reply_markup=InlineKeyboardMarkup(rows),
        )
    elif part == "comments":
        data = encode("cm", rendered.org_id, rendered.unit_id or 0, rendered.period)
        keyboard = InlineKeyboardMarkup([[button(t("💬 All comments"), data)]])
        text = t.plural(
            "{n} comment in this digest. Some may be answered anonymously.",
            "{n} comments in this digest. Some may be answered anonymously.",
            rendered.comments,
        )
        await bot.send_message(chat_id, escape(text), reply_markup=keyboard)


async def on_digest(update: Update, context: CarecheckContext) -> None:
    """/digest [unit] [week]: this or another week's digest, for a manager's own scope."""
    who = await identify(update, context)
    t = translator(who.language)
    request = digest_request(who, context.args or [])
    if isinstance(request, Refusal):
        await say(update, context, refusal_text(t, request))
    elif isinstance(request, ChooseOrganisation):
        period = request.detail
        await choose_organisation(update, context, t, lambda org: encode("dg", org, period))
    else:
        await send_digest_to(update, context, who, request)


@answers_query
async def on_digest_button(update: Update, context: CarecheckContext) -> str | None:
    """A global administrator chose the organisation of a digest."""
    _, _, who, _, data = await pressed(update, context)
    request = DigestRequest(data.org or 0, None, data.period or None)
    await send_digest_to(update, context, who, request)
    return None


async def send_digest_to(
    update: Update, context: CarecheckContext, who: Identity, request: DigestRequest
) -> None:
    t = translator(who.language)
    runtime = context.runtime
    try:
        rendered = await digest_for(
            runtime.db,
            await runtime.own_frameworks.of(request.org_id),
            who.memberships,
            request.org_id,
            request.unit_id,
            request.period,
            who.language,
            now=runtime.clock(),
            person_id=who.person.id if who.person else None,
        )
    except AccessDenied:
        await say(update, context, t("You cannot see that unit's digest."))
        return
    except (DigestError, NotFound, ValueError) as error:
        log.info("digest refused: %s", error)
        await say(update, context, t(DIGEST_USAGE))
        return
    assert update.effective_chat is not None
    await send_digest(context.bot, update.effective_chat.id, rendered, t)


# ---------------------------------------------------------------- planning an action


@answers_query
async def plan_entry(update: Update, context: CarecheckContext) -> str | None:
    """ "Plan an action" on a weak item: ask for a title."""
    _, _, who, t, data = await pressed(update, context)
    org_id, unit_id = data.org or 0, data.unit or None
    runtime = context.runtime
    refused = await may_plan(
        runtime.db,
        await runtime.own_frameworks.of(org_id),
        who.memberships,
        org_id,
        unit_id,
        data.framework or "",
        data.item or "",
    )
    if refused is not None:
        context.person.plan = None
        reason = ITEM_GONE if refused == "unknown_item" else NO_PLAN
        raise flows.Next(flows.END, t(reason))
    context.person.plan = Plan(
        org_id, unit_id, data.framework or "", data.item or "", flows.started(context)
    )
    await say(update, context, t("What is the action? Send a short title."))
    raise flows.Next(TITLE)


async def plan_title(update: Update, context: CarecheckContext) -> int:
    plan, t = await _plan(update, context)
    if plan is None:
        return flows.END  # the text goes on to whatever else the person is doing
    message = update.effective_message
    assert message is not None and message.text is not None and update.effective_chat
    plan.title = message.text
    keyboard = InlineKeyboardMarkup([[button(t("Skip ▶"), encode("ao"))]])
    question = escape(t("Who will do it? Send a name or a role, or tap Skip."))
    await show(context, update.effective_chat.id, View(question, keyboard))
    raise flows.Next(OWNER)


async def plan_owner(update: Update, context: CarecheckContext) -> int:
    plan, t = await _plan(update, context)
    if plan is None:
        return flows.END
    message = update.effective_message
    assert message is not None and message.text is not None
    plan.owner = message.text
    await _ask_due(update, context, t)
    raise flows.Next(DUE)


@answers_query
async def plan_no_owner(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None and query.message is not None
    plan, t = await _plan(update, context, quietly=True)
    if plan is None:
        raise flows.Next(flows.END, t(PLAN_ENDED))
    await _ask_due(update, context, t, query.message.message_id)
    raise flows.Next(DUE)


@answers_query
async def plan_due(update: Update, context: CarecheckContext) -> str | None:
    query = update.callback_query
    assert query is not None and query.message is not None
    plan, t = await _plan(update, context, quietly=True)
    if plan is None:
        raise flows.Next(flows.END, t(PLAN_ENDED))
    who = await identify(update, context)
    data = decode(query.data)
    runtime = context.runtime
    try:
        action = await plan_action(
            runtime.db,
            await runtime.own_frameworks.of(plan.org_id),
            who.memberships,
            org_id=plan.org_id,
            unit_id=plan.unit_id,
            framework=plan.framework,
            item_id=plan.item_id,
            title=plan.title or "",
            owner=plan.owner,
            weeks=data.weeks or 0,
            today=await runtime.calendar.today(plan.org_id),
            created_by=who.person.id if who.person else None,
        )
    except AccessDenied:
        return t(NO_PLAN)
    except ActionError as error:
        return t(ACTION_ERRORS.get(error.code, DID_NOT_WORK))
    context.person.plan = None
    text = t(
        "Planned: “{title}”, due {due}. It will show in each digest until it is done.",
        title=action.title,
        due=action.due_on.isoformat() if action.due_on else "-",
    )
    await show(context, query.message.chat.id, View(escape(text)), query.message.message_id)
    raise flows.Next(flows.END)


async def _plan(
    update: Update, context: CarecheckContext, *, quietly: bool = False
) -> tuple[Plan | None, Translator]:
    """The person's plan under way; an expired one ends (said, unless `quietly`)."""
    t = translator((await identify(update, context)).language)
    plan = context.person.plan
    if plan is not None and not flows.expired(context, plan.since):
        return plan, t
    context.person.plan = None
    if not quietly:
        await say(update, context, t(PLAN_ENDED))
    return None, t


async def _ask_due(
    update: Update, context: CarecheckContext, t: Translator, message_id: int | None = None
) -> None:
    assert update.effective_chat is not None
    rows = [[button(t("In {weeks} weeks", weeks=w), encode("aw", w)) for w in DUE_WEEKS]]
    question = View(escape(t("When should it be done?")), InlineKeyboardMarkup(rows))
    await show(context, update.effective_chat.id, question, message_id)


@answers_query
async def on_stale_plan_button(update: Update, context: CarecheckContext) -> str | None:
    """A plan's Skip or due-date button with no plan under way (ended, expired, restarted)."""
    return translator((await identify(update, context)).language)(PLAN_ENDED)


def planning_flow() -> ConversationHandler[CarecheckContext]:
    def leave(context: CarecheckContext) -> None:
        context.person.plan = None

    text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    return flows.declare(
        "planning an action",
        entry_points=[CallbackQueryHandler(plan_entry, pattern=pattern("ap"))],
        states={
            TITLE: [MessageHandler(text, plan_title)],
            OWNER: [
                MessageHandler(text, plan_owner),
                CallbackQueryHandler(plan_no_owner, pattern=pattern("ao")),
            ],
            DUE: [CallbackQueryHandler(plan_due, pattern=pattern("aw"))],
        },
        leave=leave,
    )


# ---------------------------------------------------------------- actions


async def on_actions(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    scope = actions_scope(who, context.args or [])
    if isinstance(scope, Refusal):
        await say(update, context, refusal_text(t, scope))
    elif isinstance(scope, ChooseOrganisation):
        await choose_organisation(update, context, t, lambda org: encode("ac", org))
    else:
        await list_actions_of(update, context, who, scope)


@answers_query
async def on_actions_button(update: Update, context: CarecheckContext) -> str | None:
    """A global administrator chose the organisation whose actions to list."""
    query = update.callback_query
    assert query is not None
    who = await identify(update, context)
    org_id = decode(query.data).org or 0
    if not can_view(who.memberships, org_id, None):
        return translator(who.language)(ACTIONS_REFUSED)
    await list_actions_of(update, context, who, Scope(org_id, None))
    return None


async def list_actions_of(
    update: Update, context: CarecheckContext, who: Identity, scope: Scope
) -> None:
    t = translator(who.language)
    actions = await list_actions(context.runtime.db, who.memberships, scope.org_id, scope.unit_id)
    if not actions:
        await say(
            update, context, t("No open improvement actions. Plan one from a weak spot in /digest.")
        )
        return
    assert update.effective_chat is not None
    for action in actions:
        await show(context, update.effective_chat.id, action_view(action, t))


def action_view(action: Action, t: Translator) -> View:
    due = action.due_on.isoformat() if action.due_on else "-"
    owner = f" · {escape(action.owner)}" if action.owner else ""
    status = t(STATUS_NAMES[action.status])
    text = f"<b>{escape(action.title)}</b>{owner}\n" + escape(
        t("Due {due} · {status}", due=due, status=status)
    )
    buttons = [
        button(t(label), encode("as", action.id, code))
        for code, label in STATUS_BUTTONS.items()
        if STATUS_CODES[code] != action.status
    ]
    return View(text, InlineKeyboardMarkup([buttons]) if buttons else None)


@answers_query
async def on_status_button(update: Update, context: CarecheckContext) -> str | None:
    _, message, who, t, data = await pressed(update, context)
    status = STATUS_CODES.get(data.status or "")
    if status is None or data.action is None:
        return t("This button is no longer valid.")
    runtime = context.runtime
    try:
        action = await set_action_status(
            runtime.db,
            who.memberships,
            data.action,
            status,  # type: ignore[arg-type]
            runtime.clock().date(),
        )
    except AccessDenied:
        return t("Only managers of this organisation can change actions.")
    except ActionError as error:
        return t(ACTION_ERRORS.get(error.code, DID_NOT_WORK))
    await show(context, message.chat.id, action_view(action, t), message.message_id)
    scheduler = context.bot_data.scheduler
    if action.status == "done" and scheduler is not None:
        # Its staff hear of it now rather than at the next tick; a double press or the
        # tick running at the same time is kept from sending twice by the claims.
        context.application.create_task(scheduler.tell_staff(), update=update)
    return None


def news_text(action: Action, principle: str | None, t: Translator) -> str:
    """ "You said, we did" for a staff member: what changed, and after which feedback."""
    lines = [f"✅ <b>{escape(t(WE_DID))}</b>", escape(action.title)]
    if principle:
        lines.append(escape(t(CHANGED_AFTER, principle=principle)))
    return "\n".join(lines)
