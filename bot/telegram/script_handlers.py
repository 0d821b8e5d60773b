"""Admins edit scripts in the chat: upload, see errors or the change, preview, publish, roll back.

Reviewing an upload is a flow: the draft lives in memory, for its admin only, until
it is published or discarded, a command or a check-in ends it, or it expires. Every
button re-checks the permission, because callback data can be forged. A preview is
an ordinary dialog on the in-memory store: rendered and answered like a real one,
and nothing of it is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.infra.i18n import Translator, _, translator
from bot.infra.message_split import split_message
from bot.services.dialog_service import Press, Respondent
from bot.services.identity import Identity
from bot.services.own_frameworks import neither, upload_kind
from bot.services.permissions import is_global_admin
from bot.services.script_admin import (
    Draft,
    InvalidDraft,
    SourceFormat,
    VersionNotFound,
    preview_engine,
    upload_problem,
)
from bot.services.script_registry import LoadedScript
from bot.telegram import flows
from bot.telegram.callbacks import decode, encode, pattern
from bot.telegram.context import CarecheckContext
from bot.telegram.dialog_handlers import show_reply_to_text
from bot.telegram.replies import View, answers_query, button, identify, pressed, say, show
from bot.telegram.screens import intro_text, step_view
from dialogs.source import ScriptError

log = logging.getLogger(__name__)

MAX_ERRORS_SHOWN = 25
PREVIEW = _("👁 Preview")
PUBLISH = _("✅ Publish")
DISCARD = _("🗑 Discard")
ADMIN_ONLY = _("Only administrators can do this.")
DRAFT_GONE = _("This draft is gone. Please send the file again.")
REVIEWING = 0


def admin_scope(who: Identity) -> tuple[bool, int | None]:
    """(may edit scripts, the scope they publish in): global admins globally, else their org."""
    if is_global_admin(who.memberships):
        return True, None
    for membership in who.memberships:
        if membership.org_id is not None and who.may("scripts", membership.org_id):
            return True, membership.org_id
    return False, None


async def on_document(update: Update, context: CarecheckContext) -> None:
    """A file sent to the bot: an admin's script draft, checked at once; nothing else is read."""
    message = update.effective_message
    assert message is not None and message.document is not None
    who = await identify(update, context)
    t = translator(who.language)
    allowed, _scope = admin_scope(who)
    if not allowed:
        await say(
            update, context, t("Only administrators can send scripts. I did not open the file.")
        )
        raise flows.Next(flows.END)
    document = message.document
    refused = upload_problem(document.file_name, document.file_size)
    if refused is not None:
        log.info("upload refused before download: %s", refused)
        await say(
            update,
            context,
            t(
                "This file cannot be used: it must be a .yaml file or an .xlsx workbook "
                "of at most 256 KB."
            ),
        )
        raise flows.Next(flows.END)
    try:
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("downloading an upload failed: %s", error)
        await say(update, context, t("I could not download the file. Please send it again."))
        raise flows.Next(flows.END) from None
    filename = document.file_name or "script"
    kind = upload_kind(data, filename)
    if kind == "framework":
        from bot.telegram.framework_handlers import review_framework

        _leave(context)
        await review_framework(update, context, who, t, data, filename, REVIEWING)
    admin = context.runtime.script_admin
    draft = (
        admin.load_draft(data, filename, await admin.frameworks_of(_scope))
        if kind == "script"
        else Draft(filename, "yaml", None, (neither(filename),))
    )
    if not draft.ok:
        await report_errors(update, context, t, draft)
        raise flows.Next(flows.END)
    _leave(context)
    context.person.draft = draft
    context.person.draft_scope = _scope
    context.person.draft_since = flows.started(context)
    await show_summary(update, context, who, t, draft)
    raise flows.Next(REVIEWING)


async def report_errors(
    update: Update, context: CarecheckContext, t: Translator, draft: Draft
) -> None:
    head = t.plural(
        "The script has {n} error. Nothing was changed:",
        "The script has {n} errors. Nothing was changed:",
        len(draft.errors),
    )
    if [e.code for e in draft.errors] == ["kind"]:
        head = t("This file is neither a script nor a framework. Nothing was changed:")
    await send_errors(update, context, t, head, draft.errors)


async def send_errors(
    update: Update,
    context: CarecheckContext,
    t: Translator,
    head: str,
    errors: Sequence[ScriptError],
) -> None:
    """Every error of an upload, located, under `head`; the first 25 and how many more."""
    lines = [f"<b>{escape(head)}</b>"]
    lines += [f"• <code>{escape(str(e))}</code>" for e in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(escape(t("… and {count} more.", count=len(errors) - MAX_ERRORS_SHOWN)))
    assert update.effective_chat is not None
    for chunk in split_message("\n".join(lines)):
        await context.bot.send_message(update.effective_chat.id, chunk, parse_mode=ParseMode.HTML)


async def show_summary(
    update: Update, context: CarecheckContext, who: Identity, t: Translator, draft: Draft
) -> None:
    assert draft.script is not None and update.effective_chat is not None
    _allowed, scope = admin_scope(who)
    summary = await context.runtime.script_admin.summary(draft, scope)
    head = t("Script {script} is valid. Changes against the live version:", script=draft.script.id)
    lines = [f"<b>{escape(head)}</b>"]
    lines += [escape(line) for line in summary.lines()] or [escape(t("No changes."))]
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(t(PREVIEW), encode("dp", draft.digest)),
                button(t(PUBLISH), encode("du", draft.digest)),
                button(t(DISCARD), encode("dx", draft.digest)),
            ]
        ]
    )
    chunks = split_message("\n".join(lines))
    chat_id = update.effective_chat.id
    for chunk in chunks[:-1]:
        await context.bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML)
    await show(context, chat_id, View(chunks[-1], keyboard))


@answers_query
async def on_draft_button(update: Update, context: CarecheckContext) -> str | None:
    """Preview, publish or discard the draft under review."""
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await identify(update, context)
    t = translator(who.language)
    allowed, scope = admin_scope(who)
    if not allowed or not who.may("scripts", scope):
        raise flows.Next(flows.END, t(ADMIN_ONLY))
    data = decode(query.data)
    draft = context.person.draft
    if (
        draft is None
        or draft.digest != data.draft
        or flows.expired(context, context.person.draft_since)
    ):
        _leave(context)
        raise flows.Next(flows.END, t(DRAFT_GONE))
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if data.kind == "dx":
        _leave(context)
        await show(
            context, chat_id, View(escape(t("Draft discarded. Nothing was changed."))), message_id
        )
        raise flows.Next(flows.END)
    if data.kind == "dp":
        await start_preview(update, context, who, t, draft)
        raise flows.Next(REVIEWING, t("Preview: your answers are not stored."))
    try:
        published = await context.runtime.script_admin.publish(
            draft, scope, who.person.id if who.person else None
        )
    except InvalidDraft:
        _leave(context)
        raise flows.Next(flows.END, t(DRAFT_GONE)) from None
    _leave(context)
    version = published.version
    if published.created:
        text = t(
            "Published: {script} version {version}. New check-ins use it; those "
            "under way finish on their version.",
            script=version.script_id,
            version=version.version,
        )
    else:
        text = t(
            "Nothing to publish: {script} version {version} is already live with this text.",
            script=version.script_id,
            version=version.version,
        )
    await show(context, chat_id, View(escape(text)), message_id)
    raise flows.Next(flows.END)


async def start_preview(
    update: Update, context: CarecheckContext, who: Identity, t: Translator, draft: Draft
) -> None:
    assert draft.script is not None and update.effective_chat is not None
    _end_preview(context)
    loaded = LoadedScript(None, draft.script, preview_engine(draft))
    step = await context.runtime.previews.start(
        loaded, Respondent(who.telegram_id), 0, None, who.language
    )
    context.person.preview = step.session_id
    chat_id = update.effective_chat.id
    await context.bot.send_message(chat_id, intro_text(step, t), parse_mode=ParseMode.HTML)
    await show(context, chat_id, step_view(step, t))


async def on_preview_text(update: Update, context: CarecheckContext) -> None:
    """Typed text while reviewing: the preview's answer if it waits for one, else not ours."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    session = context.person.preview
    previews = context.runtime.previews
    if session is None or not await previews.wants_text(session, user.id):
        return None  # the text goes on to the person's own check-in or feedback
    press = Press(
        user.id, session, "answer", value=message.text, input_key=f"m{message.message_id}",
        language_code=user.language_code,
    )  # fmt: skip
    await show_reply_to_text(update, context, await previews.press(press))
    raise flows.Next(REVIEWING)


def _end_preview(context: CarecheckContext) -> None:
    if context.person.preview is not None:
        context.runtime.previews.end(context.person.preview)
        context.person.preview = None


def _leave(context: CarecheckContext) -> None:
    """The review is over: its draft and preview go."""
    _end_preview(context)
    context.person.draft = None
    context.person.framework = None
    context.person.draft_since = None
    context.person.draft_scope = None


@answers_query
async def on_stale_draft_button(update: Update, context: CarecheckContext) -> str | None:
    """A draft's button with no review under way (published, discarded, expired, restarted)."""
    who = await identify(update, context)
    t = translator(who.language)
    allowed, scope = admin_scope(who)
    if not allowed or not who.may("scripts", scope):
        return t(ADMIN_ONLY)
    return t(DRAFT_GONE)


def review_flow() -> ConversationHandler[CarecheckContext]:
    from bot.telegram.framework_handlers import on_framework_button

    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return flows.declare(
        "reviewing a draft script",
        entry_points=[MessageHandler(private & filters.Document.ALL, on_document)],
        states={
            REVIEWING: [
                CallbackQueryHandler(on_draft_button, pattern=pattern("dp", "du", "dx")),
                CallbackQueryHandler(on_framework_button, pattern=pattern("fu", "fx")),
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_preview_text),
            ]
        },
        leave=_leave,
    )


# ---------------------------------------------------------------- versions


async def on_scripts(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    allowed, scope = admin_scope(who)
    if not allowed:
        await say(update, context, t("Only administrators can manage scripts."))
        return
    admin = context.runtime.script_admin
    live = [
        v for v in await admin.scripts() if v.org_id is None or v.org_id == scope or scope is None
    ]
    if not live:
        await say(update, context, t("No scripts are published."))
        return
    assert update.effective_chat is not None
    for version in live:
        where = (
            t("all organisations")
            if version.org_id is None
            else t("organisation {org}", org=version.org_id)
        )
        who_published = (
            t("carecheck")
            if version.published_by is None
            else t("administrator #{id}", id=version.published_by)
        )
        text = t(
            "{script}, version {version}, for {scope}: published by {by} on {day}.",
            script=version.script_id,
            version=version.version,
            scope=where,
            by=who_published,
            day=version.published_at.date().isoformat(),
        )
        org = version.org_id or 0
        rows = [
            [
                button("⬇ YAML", encode("sx", org, version.script_id, version.version, "y")),
                button("⬇ XLSX", encode("sx", org, version.script_id, version.version, "x")),
            ]
        ]
        if version.version > 1:
            rows.append(
                [
                    button(
                        t("↩ Roll back to version {version}", version=version.version - 1),
                        encode("sr", org, version.script_id, version.version - 1),
                    )
                ]
            )
        await show(
            context, update.effective_chat.id, View(escape(text), InlineKeyboardMarkup(rows))
        )


@answers_query
async def on_version_button(update: Update, context: CarecheckContext) -> str | None:
    _, message, who, t, data = await pressed(update, context)
    org_id = data.org or None
    # Any administrator may download the global script (to make their own variant);
    # everything else needs the right in that very scope.
    reading_global = data.kind == "sx" and org_id is None and admin_scope(who)[0]
    if not reading_global and not who.may("scripts", org_id):
        return t(ADMIN_ONLY)
    admin = context.runtime.script_admin
    try:
        if data.kind == "sx":
            fmt: SourceFormat = "xlsx" if data.fmt == "x" else "yaml"
            exported = await admin.export(data.script or "", org_id, fmt, data.version)
            await context.bot.send_document(
                message.chat.id, InputFile(exported.data, filename=exported.filename)
            )
            return None
        published = await admin.rollback(
            data.script or "", org_id, data.version or 0, who.person.id if who.person else None
        )
    except VersionNotFound:
        return t("That version does not exist.")
    except InvalidDraft as error:
        log.warning("rollback refused: %s", error)
        return t("That version is no longer valid, so it cannot be published again.")
    version = published.version
    text = t(
        "Rolled back: {script} version {version} is live again, with the text of version {old}.",
        script=version.script_id,
        version=version.version,
        old=data.version,
    )
    await say(update, context, text)
    return None
