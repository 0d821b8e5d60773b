"""The command menu: what a person can tap in the chat is what the server lets them do.

Everyone gets the default menu, in each language; a staff member, manager or admin
gets their own in their chat, from the same table of commands `/help` reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.infra.i18n import LANGUAGES, translator
from bot.services.identity import Identity, IdentityService
from bot.services.permissions import Command, commands_for

log = logging.getLogger(__name__)


def menu(language: str, commands: Iterable[Command]) -> list[BotCommand]:
    t = translator(language)
    return [BotCommand(command.name, t(command.menu)) for command in commands]


async def publish_default_menus(bot: Bot) -> None:
    """The menu of someone without a role (service users, newcomers), in every language."""
    for language in LANGUAGES:
        code = None if language == "en" else language
        await bot.set_my_commands(
            menu(language, commands_for(())), scope=BotCommandScopeDefault(), language_code=code
        )


async def publish_menu(
    bot: Bot, identities: IdentityService, who: Identity, stored: str | None = "?"
) -> None:
    """A person's own menu in their chat (none: the default, when they have no role).

    `stored` is the menu last set there, as recorded: when it is the one wanted,
    nothing is sent, so a restart sets only the menus that changed.
    """
    commands = commands_for(who.memberships)
    wanted = (
        None
        if commands == commands_for(())
        else f"{who.language}:" + ",".join(command.name for command in commands)
    )
    if wanted == stored:
        return
    try:
        if wanted is None:
            await bot.delete_my_commands(scope=BotCommandScopeChat(who.telegram_id))
        else:
            await bot.set_my_commands(
                menu(who.language, commands), scope=BotCommandScopeChat(who.telegram_id)
            )
    except TelegramError as error:
        log.info("the menu of chat %s was not set: %s", who.telegram_id, error)
        return
    await identities.menu_set(who, wanted)


async def remove_menu(bot: Bot, chat_id: int) -> None:
    """Someone whose roles are gone (/forget) sees the default menu again."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        log.info("the menu of chat %s was not removed: %s", chat_id, error)
