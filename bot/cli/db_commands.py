"""`carecheck db copy`: move an installation from its SQLite file to PostgreSQL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.infra.config import Settings
from storage.times import system_clock


def register(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="the database: move an installation to PostgreSQL")
    sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    copy = sub.add_parser(
        "copy", help="copy a SQLite installation into an empty PostgreSQL database"
    )
    copy.add_argument("source", type=Path, metavar="SQLITE_FILE")
    copy.add_argument("target", metavar="postgresql://…")
    copy.add_argument(
        "--secret-file",
        type=Path,
        required=True,
        metavar="PATH",
        help="where the PostgreSQL installation's replicas read the secret "
        "(their CARECHECK_SECRET_FILE)",
    )
    copy.add_argument(
        "--source-secret",
        type=Path,
        metavar="PATH",
        help="the SQLite installation's secret file (default: beside it, <name>.secret)",
    )
    copy.set_defaults(handler=copy_installation, needs_settings=False)


async def copy_installation(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.services.installation_move import move_installation

    source: Path = args.source
    source_secret = args.source_secret or source.with_name(source.stem + ".secret")
    counts, new_secret = await move_installation(
        source, source_secret, args.target, args.secret_file, system_clock
    )
    width = max(len(c.table) for c in counts)
    for count in counts:
        print(f"{count.table:<{width}}  {count.rows:>9}")
    total = sum(c.rows for c in counts)
    print(
        f"copied {total} rows in {len(counts)} tables; every table's count is the same on both",
        file=sys.stderr,
    )
    where = "put at" if new_secret else "already at"
    print(f"the secret file is {where} {args.secret_file}", file=sys.stderr)
    return 0
