"""The command menu, per language and per role scope (admins see their commands)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import LANGUAGES, _, translator

log = logging.getLogger(__name__)

EVERYONE = (
    ("checkin", _("Answer this week's check-in")),
    ("language", _("Change the language")),
    ("privacy", _("What is stored about me")),
    ("stop", _("No more weekly check-ins")),
    ("help", _("What this bot can do")),
)
ADMIN = (
    *EVERYONE,
    ("invite", _("Make an invitation link")),
    ("scripts", _("Scripts: versions, downloads, rollback")),
)


def commands(language: str, admin: bool = False) -> list[BotCommand]:
    t = translator(language)
    return [BotCommand(name, t(text)) for name, text in (ADMIN if admin else EVERYONE)]


async def publish_menus(bot: Bot, admin_chats: list[tuple[int, str]]) -> None:
    """Set the default menu in every language, and the admin menu for each admin's chat."""
    for language in LANGUAGES:
        code = "" if language == "en" else language
        await bot.set_my_commands(
            commands(language), scope=BotCommandScopeDefault(), language_code=code or None
        )
    for chat_id in admin_chats:
        try:
            await bot.set_my_commands(
                commands("en", admin=True), scope=BotCommandScopeChat(chat_id)
            )
        except TelegramError as error:
            log.info("admin menu for chat %s not set: %s", chat_id, error)
