"""The command menu, per language and per role scope (admins see their commands)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.infra.i18n import LANGUAGES, _, translator

log = logging.getLogger(__name__)

EVERYONE = (
    ("checkin", _("Answer this week's check-in")),
    ("language", _("Change the language")),
    ("privacy", _("What is stored about me")),
    ("forget", _("Delete what is stored about me")),
    ("stop", _("No more weekly check-ins")),
    ("help", _("What this bot can do")),
)
MANAGER = (
    *EVERYONE,
    ("digest", _("This week's digest")),
    ("actions", _("Improvement actions")),
    ("invite", _("Make an invitation link")),
)
ADMIN = (
    *MANAGER,
    ("scripts", _("Scripts: versions, downloads, rollback")),
)
MENUS = {"everyone": EVERYONE, "manager": MANAGER, "admin": ADMIN}


def commands(language: str, role: str = "everyone") -> list[BotCommand]:
    t = translator(language)
    return [BotCommand(name, t(text)) for name, text in MENUS[role]]


async def publish_menus(bot: Bot, chats: dict[int, tuple[str, str]]) -> None:
    """The default menu in every language, and each manager's and admin's own in their chat."""
    for language in LANGUAGES:
        code = "" if language == "en" else language
        await bot.set_my_commands(
            commands(language), scope=BotCommandScopeDefault(), language_code=code or None
        )
    for chat_id, (role, language) in chats.items():
        try:
            await bot.set_my_commands(commands(language, role), scope=BotCommandScopeChat(chat_id))
        except TelegramError as error:
            log.info("%s menu for chat %s not set: %s", role, chat_id, error)
