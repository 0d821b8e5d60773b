"""An organisation admin's own framework in the chat: errors or the change, publish or discard,
then, if they like, the framework as the organisation's digest lens.

An upload reaches here from the document handler of the script review flow
(`script_handlers.on_document`) once the file reads as a framework. The draft waits
in memory for its admin, in the same flow and under the same rules as a script
draft; every button checks the permission again, and the organisation always comes
from the presser's memberships, never from the button.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from bot.infra.i18n import Translator, translator
from bot.infra.message_split import split_message
from bot.services.identity import Identity
from bot.services.own_frameworks import FrameworkRefused
from bot.telegram import flows
from bot.telegram.callbacks import Callback, decode, encode
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import View, answers_query, button, identify, say, show
from bot.telegram.script_handlers import (
    ADMIN_ONLY,
    DISCARD,
    DRAFT_GONE,
    MAX_ERRORS_SHOWN,
    PUBLISH,
    send_errors,
)

log = logging.getLogger(__name__)


def framework_scope(who: Identity) -> int | None:
    """The organisation whose own framework this person may publish: one they administer
    as a whole (a unit's admin may not), or None."""
    for membership in who.memberships:
        if membership.org_id is not None and who.may("scripts", membership.org_id):
            return membership.org_id
    return None


async def review_framework(
    update: Update,
    context: CarecheckContext,
    who: Identity,
    t: Translator,
    data: bytes,
    filename: str,
    reviewing: object,
) -> None:
    """A downloaded upload that reads as a framework: its errors, or its change and buttons."""
    org_id = framework_scope(who)
    if org_id is None:
        await say(
            update,
            context,
            t(
                "An organisation's own framework is published by an administrator of that "
                "organisation, or with: carecheck framework publish FILE --org ID"
            ),
        )
        raise flows.Next(flows.END)
    draft, change = await context.runtime.own_frameworks.review(data, filename, org_id)
    if change is None or draft.framework is None:
        head = t.plural(
            "The framework has {n} error. Nothing was changed:",
            "The framework has {n} errors. Nothing was changed:",
            len(draft.errors),
        )
        await send_errors(update, context, t, head, draft.errors)
        raise flows.Next(flows.END)
    context.person.framework = draft
    context.person.draft_since = flows.started(context)
    framework = draft.framework
    lines = [
        "<b>"
        + escape(
            t(
                "Framework {framework} is valid: {name}.",
                framework=framework.id,
                name=framework.name(who.language),
            )
        )
        + "</b>"
    ]
    if change.live_version is None:
        lines.append(escape(t("It is new to your organisation.")))
    else:
        lines.append(escape(t("It replaces version {version}.", version=change.live_version)))
    for label, ids in (
        (t("Added:"), change.added),
        (t("Removed:"), change.removed),
        (t("Renamed:"), change.renamed),
    ):
        if ids and change.live_version is not None:
            lines.append(escape(f"{label} {', '.join(ids)}"))
    lines += [
        escape(f"• {item.id}: {item.name(who.language)}") for item in framework.items.values()
    ]
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(t(PUBLISH), encode("fu", draft.digest)),
                button(t(DISCARD), encode("fx", draft.digest)),
            ]
        ]
    )
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    chunks = split_message("\n".join(lines))
    for chunk in chunks[:-1]:
        await context.bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML)
    await show(context, chat_id, View(chunks[-1], keyboard))
    raise flows.Next(reviewing)


@answers_query
async def on_framework_button(update: Update, context: CarecheckContext) -> str | None:
    """Publish or discard the framework under review."""
    (data, chat_id, message_id), who, t, org_id = await _pressed(update, context)
    if org_id is None:
        raise flows.Next(flows.END, t(ADMIN_ONLY))
    draft = context.person.framework
    if (
        draft is None
        or draft.digest != data.draft
        or flows.expired(context, context.person.draft_since)
    ):
        leave(context)
        raise flows.Next(flows.END, t(DRAFT_GONE))
    leave(context)
    if data.kind == "fx":
        text = escape(t("Draft discarded. Nothing was changed."))
        await show(context, chat_id, View(text), message_id)
        raise flows.Next(flows.END)
    own = context.runtime.own_frameworks
    try:
        published = await own.publish(draft, org_id, who.person.id if who.person else None)
    except FrameworkRefused as refused:
        log.info("framework publish refused: %s", refused)
        lines = [escape(t("Not published: your questions still map to items it drops."))]
        lines += [f"• <code>{escape(str(e))}</code>" for e in refused.errors[:MAX_ERRORS_SHOWN]]
        await show(context, chat_id, View("\n".join(lines)), message_id)
        raise flows.Next(flows.END) from None
    version = published.version
    if published.created:
        text = t(
            "Published: {framework} version {version}. Your organisation's questions can "
            "map to it (maps_to: {framework}), and it can be your digest lens.",
            framework=version.framework_id,
            version=version.version,
        )
    else:
        text = t(
            "Nothing to publish: {framework} version {version} is already live with this text.",
            framework=version.framework_id,
            version=version.version,
        )
    org = await context.runtime.organisations.get(org_id)
    keyboard = None
    if org.lens != version.framework_id:
        keyboard = InlineKeyboardMarkup(
            [[button(t("📊 Use it as the digest lens"), encode("fl", version.framework_id))]]
        )
    await show(context, chat_id, View(escape(text), keyboard), message_id)
    raise flows.Next(flows.END)


@answers_query
async def on_lens_button(update: Update, context: CarecheckContext) -> str | None:
    """Make the organisation's own framework its digest lens."""
    (data, chat_id, message_id), _who, t, org_id = await _pressed(update, context)
    if org_id is None:
        return t(ADMIN_ONLY)
    framework_id = data.framework or ""
    if not await context.runtime.own_frameworks.choose_lens(org_id, framework_id):
        return t("Your organisation cannot use that framework as its lens.")
    text = t("Done: your digests now report under {framework}.", framework=framework_id)
    await show(context, chat_id, View(escape(text)), message_id)
    return None


async def _pressed(
    update: Update, context: CarecheckContext
) -> tuple[tuple[Callback, int, int], Identity, Translator, int | None]:
    """The press (its data, chat and message), who pressed, their language, and the
    organisation they may act for."""
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    where = (decode(query.data), query.message.chat.id, query.message.message_id)
    return where, who, translator(who.language), framework_scope(who)


@answers_query
async def on_stale_framework_button(update: Update, context: CarecheckContext) -> str | None:
    """A framework draft's button with no review under way."""
    who = await identify(update, context)
    t = translator(who.language)
    return t(ADMIN_ONLY) if framework_scope(who) is None else t(DRAFT_GONE)


def leave(context: CarecheckContext) -> None:
    context.person.framework = None
    context.person.draft_since = None
