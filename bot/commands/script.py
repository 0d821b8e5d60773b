"""`carecheck script ...`: validate (and manage) dialog scripts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    script = commands.add_parser("script", help="validate and manage dialog scripts")
    script_commands = script.add_subparsers(dest="script_command", required=True)
    validate = script_commands.add_parser("validate", help="check script files")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=validate_files, needs_settings=False)


async def validate_files(args: argparse.Namespace, settings: Settings | None) -> int:
    from dialogs.validate import validate_file
    from frameworks import default_frameworks

    frameworks = default_frameworks()
    failed = 0
    for path in args.files:
        result = validate_file(path, frameworks)
        if result.ok and result.script is not None:
            count = len(result.script.questions())
            print(f"{path}: ok ({result.script.id}, {count} questions)")
        else:
            failed += 1
            for error in result.errors:
                print(error)
    if failed:
        print(f"{failed} of {len(args.files)} files have errors", file=sys.stderr)
    return 1 if failed else 0
