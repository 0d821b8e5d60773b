"""The `carecheck` command line: one subcommand group per `*_command(s)` module.

Wrong arguments and bad configuration end with one clear line and exit 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli import (
    backup_command,
    console_command,
    db_commands,
    demo_command,
    digest_command,
    export_command,
    framework_commands,
    poster_command,
    run_command,
    safeguarding_command,
    script_commands,
    setup_commands,
)
from bot.cli.arguments import UsageError
from bot.infra.config import ConfigError, load_settings
from bot.infra.logs import setup_logging
from bot.services.org_settings import SettingRefused
from bot.services.organisations import SetupError
from bot.services.safeguarding import SafeguardingRefused
from storage.errors import StorageError

log = logging.getLogger(__name__)

GROUPS = (
    run_command,
    console_command,
    setup_commands,
    script_commands,
    framework_commands,
    export_command,
    digest_command,
    demo_command,
    backup_command,
    db_commands,
    poster_command,
    safeguarding_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carecheck", description="Quality self-assessment for social services."
    )
    parser.add_argument("--config", type=Path, help="a TOML settings file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = None
        if getattr(args, "needs_settings", True):
            settings = load_settings(config_file=args.config)
            # The bot logs at the level asked for (`run` sets it up); other commands
            # speak to the terminal, so their log says only what went wrong, or all of
            # it at DEBUG.
            quiet = settings.log_level if settings.log_level == "DEBUG" else "WARNING"
            setup_logging(quiet, settings.token)
        return int(asyncio.run(args.handler(args, settings)))
    except (
        ConfigError,
        UsageError,
        SetupError,
        SettingRefused,
        SafeguardingRefused,
        StorageError,
    ) as exc:
        print(f"carecheck: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Whatever it was, the terminal gets one line; the traceback is for the log.
        log.debug("carecheck %s failed", args.command, exc_info=True)
        print(
            f"carecheck {args.command}: {type(exc).__name__}: {_one_line(exc)} "
            "(set CARECHECK_LOG_LEVEL=DEBUG for the details)",
            file=sys.stderr,
        )
        return 1


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] + "…" if len(text) > 300 else text


if __name__ == "__main__":
    raise SystemExit(main())
