"""`carecheck export`: the answers as CSV for analysis and audits."""

from __future__ import annotations

import argparse
import sys

from bot.commands.arguments import parse_day, positive
from bot.config import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = commands.add_parser("export", help="write the answers as CSV")
    export.add_argument("--format", choices=("csv",), default="csv")
    export.add_argument("--org", type=positive)
    export.add_argument("--since", type=parse_day, help="first day, YYYY-MM-DD")
    export.set_defaults(handler=run_export)


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.export import write_csv
    from storage.db import Database

    db = await Database.open(settings.db_path)
    try:
        count = await write_csv(db, sys.stdout, args.org, args.since)
    finally:
        await db.close()
    print(f"{count} answers exported", file=sys.stderr)
    return 0
