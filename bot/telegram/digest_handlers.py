"""Managers in the chat: /digest, the weekly digest job, and improvement actions (PDCA).

Planning an action is a short conversation (title, owner, due date); its
state is kept per person in memory, since a half-planned action is cheap to
start again after a restart. Every button re-checks access: callback data can
name any organisation, item or action.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from telegram import Bot, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.infra.i18n import Translator, _, translator
from bot.services.digests.digest_access import AccessDenied, can_view
from bot.services.digests.digest_compute import DigestError
from bot.services.digests.digest_delivery import Delivery, deliver_due, digest_for
from bot.services.digests.digest_render import RenderedDigest
from bot.services.digests.improvement_actions import (
    DUE_WEEKS,
    ActionError,
    list_actions,
    plan_action,
    set_action_status,
    what_we_changed,
)
from bot.services.onboarding import Identity
from bot.services.periods import local_today
from bot.telegram.callbacks import Callback, encode
from bot.telegram.ratelimit import bulk_sending
from bot.telegram.replies import BotServices, identify, say, services, show
from bot.telegram.screens import View, button
from storage.actions import Action
from storage.db import Database
from storage.digest_log import Recipient
from storage.errors import NotFound
from storage.orgs import OrgRepo

log = logging.getLogger(__name__)

STATUS_CODES = {"s": "started", "d": "done", "x": "dropped"}
STATUS_BUTTONS = {"s": _("▶ Started"), "d": _("✓ Done"), "x": _("✗ Dropped")}
ITEM_GONE = _("That item is not in the framework any more.")
ACTION_ERRORS = {
    "no_title": _("An action needs a title."),
    "unknown_item": ITEM_GONE,
    "unchanged": _("The action already has that status."),
    "unknown_action": _("That action does not exist."),
}
STATUS_NAMES = {
    "open": _("open"),
    "started": _("started"),
    "done": _("done"),
    "dropped": _("dropped"),
}
PLANNING = "carecheck.planning"
DIGEST_REFUSED = _("Digests are for managers and administrators.")
ACTIONS_REFUSED = _("Improvement actions are for managers and administrators.")


@dataclass
class Plan:
    """An improvement action being planned in the chat, step by step."""

    org_id: int
    unit_id: int | None
    framework: str
    item_id: str
    title: str | None = None
    owner: str | None = None
    asked_owner: bool = False


def plans(context: ContextTypes.DEFAULT_TYPE) -> dict[int, Plan]:
    return context.application.bot_data.setdefault(PLANNING, {})  # type: ignore[no-any-return]


def manager_scope(who: Identity) -> tuple[int, int | None] | None:
    """The organisation (and unit) a manager's /digest and /actions are about."""
    for membership in who.memberships:
        if membership.org_id is not None and who.may(
            "digest", membership.org_id, membership.unit_id
        ):
            return membership.org_id, membership.unit_id
    return None


async def send_digest(bot: Bot, chat_id: int, rendered: RenderedDigest, t: Translator) -> None:
    """The digest as messages, the chart, the printable report, and "plan an action" buttons."""
    for text in rendered.messages:
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    await bot.send_photo(chat_id, InputFile(rendered.chart_png, filename="digest.png"))
    await bot.send_document(
        chat_id, InputFile(rendered.report_html.encode("utf-8"), filename=rendered.report_name)
    )
    if rendered.weak_items:
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


async def managing(
    update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str
) -> tuple[Identity, Translator, tuple[int, int | None]] | None:
    """The sender, their language and the scope they manage; or the refusal, said."""
    who = await identify(update, context)
    t = translator(who.language)
    scope = manager_scope(who)
    if scope is None:
        await say(update, context, t(refusal))
        return None
    return who, t, scope


async def on_digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest [unit] [week]: this or another week's digest, for a manager's own scope."""
    found = await managing(update, context, DIGEST_REFUSED)
    if found is None:
        return
    who, t, (org_id, unit_id) = found
    period = None
    for arg in context.args or []:
        if arg.isdigit():
            unit_id = int(arg)
        else:
            period = arg
    svc = services(context)
    try:
        rendered = await digest_for(
            svc.runtime.db,
            svc.runtime.frameworks,
            who.memberships,
            org_id,
            unit_id,
            period,
            who.language,
            now=svc.clock(),
        )
    except AccessDenied:
        await say(update, context, t("You cannot see that unit's digest."))
        return
    except (DigestError, NotFound, ValueError) as error:
        log.info("digest refused: %s", error)
        await say(update, context, t("Usage: /digest [unit number] [week like 2026-W47]"))
        return
    await send_digest(context.bot, update.effective_chat.id, rendered, t)  # type: ignore[union-attr]


async def weekly_digests(svc: BotServices, bot: Bot, now: datetime) -> Delivery:
    """The scheduler's job: every due digest to every manager still owed it, paced."""
    db, frameworks = svc.runtime.db, svc.runtime.frameworks

    async def send(recipient: Recipient, rendered: RenderedDigest) -> None:
        t = translator(recipient.language)
        try:
            with bulk_sending():
                await send_digest(bot, recipient.telegram_id, rendered, t)
        except Forbidden:
            log.info("manager %s blocked the bot; digest skipped", recipient.person_id)

    return await deliver_due(db, frameworks, send, now=now)


async def plan_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, data: Callback
) -> str:
    """ "Plan an action" on a weak item: ask for a title."""
    t = translator(who.language)
    org_id, unit_id = data.org or 0, data.unit or None
    if not can_view(who.memberships, org_id, unit_id) or not who.may("digest", org_id, unit_id):
        return t("Only managers of this organisation can plan actions.")
    if unit_id is not None:
        unit = await OrgRepo(services(context).runtime.db).get_unit(unit_id)
        if unit is None or unit.org_id != org_id:
            return t("Only managers of this organisation can plan actions.")
    if services(context).runtime.frameworks.item(data.framework or "", data.item or "") is None:
        return t(ITEM_GONE)
    plans(context)[who.telegram_id] = Plan(org_id, unit_id, data.framework or "", data.item or "")
    await say(update, context, t("What is the action? Send a short title."))
    return ""


async def planning_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, text: str
) -> bool:
    """Take a typed answer in the planning conversation; False if none is under way."""
    plan = plans(context).get(who.telegram_id)
    if plan is None:
        return False
    t = translator(who.language)
    if plan.title is None:
        plan.title = text
        plan.asked_owner = True
        keyboard = InlineKeyboardMarkup([[button(t("Skip ▶"), encode("ao"))]])
        await show(
            context,
            update.effective_chat.id,
            View(escape(t("Who will do it? Send a name or a role, or tap Skip.")), keyboard),
        )  # type: ignore[union-attr]
        return True
    plan.owner = text
    await ask_due(update, context, t)
    return True


async def ask_due(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator, message_id: int | None = None
) -> None:
    rows = [[button(t("In {weeks} weeks", weeks=w), encode("aw", w)) for w in DUE_WEEKS]]
    await show(
        context,
        update.effective_chat.id,
        View(escape(t("When should it be done?")), InlineKeyboardMarkup(rows)),
        message_id,
    )  # type: ignore[union-attr]


async def owner_skip_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, message_id: int
) -> str:
    t = translator(who.language)
    plan = plans(context).get(who.telegram_id)
    if plan is None or plan.title is None:
        return t("This plan has ended. Start again from the digest.")
    await ask_due(update, context, t, message_id)
    return ""


async def due_button(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    data: Callback,
    message_id: int,
) -> str:
    t = translator(who.language)
    plan = plans(context).get(who.telegram_id)
    if plan is None or plan.title is None:
        return t("This plan has ended. Start again from the digest.")
    svc = services(context)
    today = await org_day(svc.runtime.db, plan.org_id, svc.clock())
    try:
        action = await plan_action(
            svc.runtime.db,
            svc.runtime.frameworks,
            who.memberships,
            org_id=plan.org_id,
            unit_id=plan.unit_id,
            framework=plan.framework,
            item_id=plan.item_id,
            title=plan.title,
            owner=plan.owner,
            weeks=data.weeks or 0,
            today=today,
            created_by=who.person.id if who.person else None,
        )
    except AccessDenied:
        return t("Only managers of this organisation can plan actions.")
    except ActionError as error:
        return t(ACTION_ERRORS.get(error.code, "That did not work. Please try again."))
    plans(context).pop(who.telegram_id, None)
    text = t(
        "Planned: “{title}”, due {due}. It will show in each digest until it is done.",
        title=action.title,
        due=action.due_on.isoformat() if action.due_on else "-",
    )
    await show(context, update.effective_chat.id, View(escape(text)), message_id)  # type: ignore[union-attr]
    return ""


async def on_actions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    found = await managing(update, context, ACTIONS_REFUSED)
    if found is None:
        return
    who, t, scope = found
    svc = services(context)
    actions = await list_actions(svc.runtime.db, who.memberships, scope[0], scope[1])
    if not actions:
        await say(
            update, context, t("No open improvement actions. Plan one from a weak spot in /digest.")
        )
        return
    for action in actions:
        await show(context, update.effective_chat.id, action_view(action, t))  # type: ignore[union-attr]


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


async def status_button(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    data: Callback,
    message_id: int,
) -> str:
    t = translator(who.language)
    status = STATUS_CODES.get(data.status or "")
    if status is None or data.action is None:
        return t("This button is no longer valid.")
    svc = services(context)
    try:
        action = await set_action_status(
            svc.runtime.db, who.memberships, data.action, status, svc.clock().date()
        )  # type: ignore[arg-type]
    except AccessDenied:
        return t("Only managers of this organisation can change actions.")
    except ActionError as error:
        return t(ACTION_ERRORS.get(error.code, "That did not work. Please try again."))
    await show(context, update.effective_chat.id, action_view(action, t), message_id)  # type: ignore[union-attr]
    return ""


async def org_day(db: Database, org_id: int, now: datetime) -> date:
    org = await OrgRepo(db).get_org(org_id)
    return local_today(now, org.timezone if org else "UTC")


async def changes_for_users(svc: BotServices, org_id: int, language: str) -> list[str]:
    """ "What we changed after your feedback" lines for a service user who just finished."""
    del language  # action titles are written by managers in the organisation's language
    today = await org_day(svc.runtime.db, org_id, svc.clock())
    return await what_we_changed(svc.runtime.db, org_id, None, today)
