"""`carecheck console`: answer a dialog in the terminal."""

from __future__ import annotations

import argparse
import sys

from bot.cli.arguments import ID_MAX, UsageError, between, positive
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import system_clock


def register(commands: argparse._SubParsersAction) -> None:
    console = commands.add_parser("console", help="answer a dialog in the terminal")
    console.add_argument("--script", default="staff-pulse")
    console.add_argument("--lang", choices=LANGUAGES, default="en")
    console.add_argument("--as", dest="audience", choices=("staff", "service_user"))
    console.add_argument("--org", type=positive, help="organisation id (default: a local one)")
    console.add_argument("--user", type=between(0, ID_MAX), default=0, help=argparse.SUPPRESS)
    console.set_defaults(handler=run_console)


async def run_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.console_dialog import Console, ConsoleRequest
    from bot.services.runtime import open_runtime
    from bot.services.script_registry import ScriptNotFound

    async with open_runtime(settings, system_clock) as runtime:
        try:
            loaded = await runtime.scripts.active(args.script, None)
        except ScriptNotFound:
            names = sorted(v.script_id for v in await runtime.scripts.repo.list_active())
            raise UsageError(
                f"unknown script {args.script!r}; available: {', '.join(names)}"
            ) from None
        audience = args.audience or loaded.script.audience
        request = ConsoleRequest(args.script, args.lang, audience, args.org, args.user)
        console = Console(runtime, args.lang, sys.stdout, sys.stdin)
        return await console.run(request)
