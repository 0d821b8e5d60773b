"""Safeguarding alerts in the chat: the alert with its buttons, and marking it.

Who may mark is decided by the service from the presser's stored roles, never from
the button: callback data can be forged.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot.infra.i18n import Translator, _
from bot.services.safeguarding import NotAContact, Status
from bot.telegram.callbacks import encode
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import View, answers_query, button, pressed, show

STATUS_CODES: dict[str, Status] = {"s": "seen", "f": "followed_up"}
STATUS_LINES = {
    "seen": _("👀 Marked as seen."),
    "followed_up": _("✅ Marked as followed up."),
}


def alert_view(text: str, alert_id: int, status: str, t: Translator) -> View:
    """The alert's text, what it was marked as, and the buttons still useful."""
    lines = [escape(text)]
    if status in STATUS_LINES:
        lines += ["", escape(t(STATUS_LINES[status]))]
    rows = []
    if status == "open":
        rows.append(button(t("Seen"), encode("sg", alert_id, "s")))
    if status != "followed_up":
        rows.append(button(t("Followed up"), encode("sg", alert_id, "f")))
    return View("\n".join(lines), InlineKeyboardMarkup([rows]) if rows else None)


@answers_query
async def on_alert_button(update: Update, context: CarecheckContext) -> str | None:
    _, message, who, t, data = await pressed(update, context)
    status = STATUS_CODES.get(data.status or "")
    if status is None or data.alert is None or who.person is None:
        return t("This button is no longer valid.")
    try:
        marked = await context.runtime.safeguarding.mark(
            list(who.memberships),
            who.person.id,
            data.alert,
            status,
            who.language,
        )
    except NotAContact:
        return t("Only this organisation's safeguarding contacts and managers can mark alerts.")
    view = alert_view(marked.text, marked.alert_id, marked.status, t)
    await show(context, message.chat.id, view, message.message_id)
    return None
