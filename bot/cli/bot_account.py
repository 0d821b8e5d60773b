"""The bot's username for links: asked of Telegram (`getMe`), or given with `--bot`.

There is no default name: a link to a bot the admin does not own would send their
people to a stranger. Without a token and without `--bot`, the command refuses.
"""

from __future__ import annotations

import argparse
import re

from bot.cli.arguments import UsageError
from bot.infra.config import Settings

# Telegram's rule for bot usernames: 5 to 32 letters, digits and underscores.
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
NO_NAME = (
    "the link needs the bot's username: configure TELEGRAM_BOT_TOKEN (it is asked of"
    " Telegram) or give --bot NAME"
)


def username(text: str) -> str:
    """`--bot NAME` (an optional leading @ dropped), checked against Telegram's rule."""
    name = text.removeprefix("@")
    if not USERNAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a Telegram bot username")
    return name


async def bot_username(given: str | None, settings: Settings) -> str:
    """`given`, else the configured token's bot as Telegram names it."""
    if given is not None:
        return given
    if not settings.token:
        raise UsageError(NO_NAME)
    from telegram import Bot
    from telegram.error import TelegramError

    bot = Bot(settings.token, base_url=settings.api_url, base_file_url=settings.file_url)
    try:
        async with bot:  # initialising the bot is its getMe
            name = bot.username
    except TelegramError as error:
        raise UsageError(f"cannot ask Telegram for the bot's username (getMe): {error}") from None
    if not name or not USERNAME.fullmatch(name):
        raise UsageError(f"Telegram gave no usable bot username: {name!r}")
    return name
