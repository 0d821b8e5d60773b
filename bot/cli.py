"""The `carecheck` command line: one subcommand group per module in `bot.commands`.

Wrong arguments and bad configuration end with one clear line and exit 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.commands import backup, console, demo, digest, export, org, run, script
from bot.commands.arguments import UsageError
from bot.config import ConfigError, load_settings
from storage.errors import StorageError

GROUPS = (run, console, org, script, export, digest, demo, backup)


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
        return asyncio.run(args.handler(args, settings))
    except (ConfigError, UsageError, StorageError) as exc:
        print(f"carecheck: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
