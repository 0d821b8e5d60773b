"""`carecheck export`: the answers as CSV or as an Excel workbook, for analysis and audits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, parse_day, positive
from bot.infra.config import Settings
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.runtime import Database


def register(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="write the answers as CSV or xlsx")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--org", type=positive)
    export.add_argument("--since", type=parse_day, help="first day, YYYY-MM-DD")
    export.add_argument(
        "--out", type=Path, help="file to write (xlsx needs one; - is standard output)"
    )
    export.set_defaults(handler=run_export)


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.runtime import open_database

    if args.format == "xlsx":
        if args.out is None:
            raise UsageError("--format xlsx writes a workbook: give --out FILE")
        if str(args.out) == "-" and sys.stdout.isatty():
            raise UsageError("a workbook is binary: redirect standard output or give --out FILE")
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"{args.out} is a directory; give a file name")
    async with open_database(settings, system_clock) as db:
        count = await (_xlsx(db, args) if args.format == "xlsx" else _csv(db, args))
    print(f"{count} answers exported", file=sys.stderr)
    return 0


async def _csv(db: Database, args: argparse.Namespace) -> int:
    from bot.services.answer_export import write_csv

    if args.out is None or str(args.out) == "-":
        return await write_csv(db, sys.stdout, args.org, args.since)
    try:
        with args.out.open("w", encoding="utf-8", newline="") as out:
            return await write_csv(db, out, args.org, args.since)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None


async def _xlsx(db: Database, args: argparse.Namespace) -> int:
    from bot.services.answer_export import write_xlsx
    from bot.services.organisations import Organisations
    from bot.services.own_frameworks import OwnFrameworks
    from frameworks import default_frameworks

    language = "en"
    if args.org is not None:
        language = (await Organisations(db).get(args.org)).language
    # One organisation's summary covers its own frameworks too; all organisations'
    # together only the shipped ones, which mean the same everywhere.
    frameworks = await OwnFrameworks(db, default_frameworks()).of(args.org)
    target = sys.stdout.buffer if str(args.out) == "-" else args.out
    try:
        return await write_xlsx(db, frameworks, target, args.org, args.since, language)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
