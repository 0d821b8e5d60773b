"""Admins edit scripts in the chat: upload, see errors or the change, preview, publish, roll back.

A draft lives in memory, for its admin only, until it is published or
discarded; every button re-checks the permission, because callback data can
be forged. A preview is an in-memory session with id 0: it is rendered and
answered like a real one, and nothing of it is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.infra.i18n import Translator, _, translator
from bot.services.dialog_phrases import explain
from bot.services.dialog_service import Step
from bot.services.onboarding import Identity
from bot.services.permissions import is_global_admin
from bot.services.script_admin import (
    Draft,
    InvalidDraft,
    ScriptAdmin,
    VersionNotFound,
    preview_engine,
    upload_problem,
)
from bot.services.script_registry import LoadedScript
from bot.telegram import screens as render
from bot.telegram.callbacks import Callback, encode
from bot.telegram.replies import identify, say, services, show, step_view
from bot.telegram.screens import View, button
from dialogs.engine import Session
from dialogs.errors import DialogError

log = logging.getLogger(__name__)

PREVIEW_SESSION = 0
MAX_ERRORS_SHOWN = 25
PREVIEW = _("👁 Preview")
PUBLISH = _("✅ Publish")
DISCARD = _("🗑 Discard")


@dataclass
class Preview:
    loaded: LoadedScript
    session: Session


def admin_scope(who: Identity) -> tuple[bool, int | None]:
    """(may edit scripts, the scope they publish in): global admins globally, else their org."""
    if is_global_admin(who.memberships):
        return True, None
    for membership in who.memberships:
        if membership.role == "admin" and membership.org_id is not None:
            return True, membership.org_id
    return False, None


def may_act_in(who: Identity, org_id: int | None) -> bool:
    return who.may("scripts", org_id)


def script_admin(context: ContextTypes.DEFAULT_TYPE) -> ScriptAdmin:
    return ScriptAdmin(services(context).runtime.scripts)


def drafts(context: ContextTypes.DEFAULT_TYPE) -> dict[int, Draft]:
    return context.application.bot_data.setdefault("carecheck.drafts", {})  # type: ignore[no-any-return]


def previews(context: ContextTypes.DEFAULT_TYPE) -> dict[int, Preview]:
    return context.application.bot_data.setdefault("carecheck.previews", {})  # type: ignore[no-any-return]


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    who = await identify(update, context)
    t = translator(who.language)
    allowed, _scope = admin_scope(who)
    if not allowed:
        await say(
            update, context, t("Only administrators can send scripts. I did not open the file.")
        )
        return
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
        return
    try:
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("downloading an upload failed: %s", error)
        await say(update, context, t("I could not download the file. Please send it again."))
        return
    draft = script_admin(context).load_draft(data, document.file_name or "script")
    if not draft.ok:
        await report_errors(update, context, t, draft)
        return
    drafts(context)[who.telegram_id] = draft
    await show_summary(update, context, who, t, draft)


async def report_errors(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator, draft: Draft
) -> None:
    errors = list(draft.errors)
    head = t.plural(
        "The script has {n} error. Nothing was changed:",
        "The script has {n} errors. Nothing was changed:",
        len(errors),
    )
    lines = [f"<b>{escape(head)}</b>"]
    lines += [f"• <code>{escape(str(e))}</code>" for e in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(escape(t("… and {count} more.", count=len(errors) - MAX_ERRORS_SHOWN)))
    for chunk in split_lines(lines):
        await context.bot.send_message(update.effective_chat.id, chunk, parse_mode=ParseMode.HTML)  # type: ignore[union-attr]


def split_lines(lines: list[str], limit: int = 4000) -> list[str]:
    """Whole lines into messages within Telegram's 4096 characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


async def show_summary(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Identity, t: Translator, draft: Draft
) -> None:
    assert draft.script is not None
    _allowed, scope = admin_scope(who)
    summary = await script_admin(context).summary(draft, scope)
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
    chunks = split_lines(lines)
    for chunk in chunks[:-1]:
        await context.bot.send_message(update.effective_chat.id, chunk, parse_mode=ParseMode.HTML)  # type: ignore[union-attr]
    await show(context, update.effective_chat.id, View(chunks[-1], keyboard))  # type: ignore[union-attr]


async def draft_button(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    data: Callback,
    message_id: int,
) -> str:
    t = translator(who.language)
    allowed, scope = admin_scope(who)
    if not allowed or not may_act_in(who, scope):
        return t("Only administrators can do this.")
    draft = drafts(context).get(who.telegram_id)
    if draft is None or draft.digest != data.draft:
        return t("This draft is gone. Please send the file again.")
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    if data.kind == "dx":
        drafts(context).pop(who.telegram_id, None)
        previews(context).pop(who.telegram_id, None)
        await show(
            context, chat_id, View(escape(t("Draft discarded. Nothing was changed."))), message_id
        )
        return ""
    if data.kind == "dp":
        await start_preview(context, who, t, draft, chat_id)
        return t("Preview: your answers are not stored.")
    try:
        published = await script_admin(context).publish(
            draft, scope, who.person.id if who.person else None
        )
    except InvalidDraft:
        return t("This draft is gone. Please send the file again.")
    drafts(context).pop(who.telegram_id, None)
    previews(context).pop(who.telegram_id, None)
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
    return ""


async def start_preview(
    context: ContextTypes.DEFAULT_TYPE, who: Identity, t: Translator, draft: Draft, chat_id: int
) -> None:
    assert draft.script is not None
    loaded = LoadedScript(None, draft.script, preview_engine(draft))
    session = loaded.engine.start()
    previews(context)[who.telegram_id] = Preview(loaded, session)
    step = Step(PREVIEW_SESSION, 0, loaded, session.screen())
    await context.bot.send_message(chat_id, render.intro_text(step, t), parse_mode=ParseMode.HTML)
    await show(context, chat_id, await step_view(step, t, context))


def preview_of(context: ContextTypes.DEFAULT_TYPE, who: Identity) -> Preview | None:
    return previews(context).get(who.telegram_id)


async def preview_step(
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    t: Translator,
    action: str,
    value: object,
    step_number: int | None,
) -> Step | str:
    """Apply a step to the admin's preview; a string is the reason it was refused."""
    preview = preview_of(context, who)
    if preview is None:
        return t("This preview has ended.")
    session = preview.session
    try:
        session.apply(action, value, step=step_number)  # type: ignore[arg-type]
    except DialogError as error:
        return explain(t, error)
    if session.finished:
        previews(context).pop(who.telegram_id, None)
    return Step(PREVIEW_SESSION, 0, preview.loaded, session.screen())


async def on_scripts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    allowed, scope = admin_scope(who)
    if not allowed:
        await say(update, context, t("Only administrators can manage scripts."))
        return
    admin = script_admin(context)
    live = [
        v for v in await admin.scripts() if v.org_id is None or v.org_id == scope or scope is None
    ]
    if not live:
        await say(update, context, t("No scripts are published."))
        return
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
        )  # type: ignore[union-attr]


async def version_button(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Identity,
    data: Callback,
    message_id: int,
) -> str:
    t = translator(who.language)
    org_id = data.org or None
    # Any administrator may download the global script (to make their own variant);
    # everything else needs the right in that very scope.
    reading_global = data.kind == "sx" and org_id is None and admin_scope(who)[0]
    if not reading_global and not may_act_in(who, org_id):
        return t("Only administrators can do this.")
    admin = script_admin(context)
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    try:
        if data.kind == "sx":
            fmt = "xlsx" if data.fmt == "x" else "yaml"
            exported = await admin.export(data.script or "", org_id, fmt, data.version)  # type: ignore[arg-type]
            await context.bot.send_document(
                chat_id, InputFile(exported.data, filename=exported.filename)
            )
            return ""
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
    return ""
