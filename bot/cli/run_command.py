"""`carecheck run`: the Telegram bot, by long polling or behind a webhook."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bot.cli.arguments import UsageError, between
from bot.infra.config import Settings
from bot.infra.logs import setup_logging
from storage.times import system_clock

NO_TOKEN = (
    "carecheck run needs a bot token: create a bot with @BotFather in Telegram and set "
    "TELEGRAM_BOT_TOKEN. To try the questions without Telegram, run `carecheck console`."
)


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run the Telegram bot")
    run.add_argument("--webhook", metavar="URL", help="public https URL for a webhook")
    run.add_argument("--listen", default="127.0.0.1", help="webhook: address to listen on")
    run.add_argument(
        "--port", type=between(1, 65535), default=8443, help="webhook: port to listen on"
    )
    run.add_argument("--secret", help="webhook: secret token Telegram sends back")
    run.add_argument("--no-jobs", action="store_true", help="no scheduled check-ins or digests")
    run.set_defaults(handler=run_bot)


async def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if args.webhook and not args.webhook.startswith("https://"):
        raise UsageError("--webhook must be an https:// URL")
    if not 0 < args.port < 65536:
        raise UsageError("--port must be between 1 and 65535")
    from bot.services.runtime import open_runtime
    from bot.telegram.app import Webhook, build_application, serve

    setup_logging(settings.log_level, settings.token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    webhook = Webhook(args.webhook, args.listen, args.port, args.secret) if args.webhook else None
    async with open_runtime(settings, system_clock) as runtime:
        application = build_application(runtime, run_jobs=not args.no_jobs)
        await serve(application, stop, webhook)
    return 0
