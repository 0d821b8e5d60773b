"""`carecheck backup FILE`: a consistent copy of the live database, while the bot runs.

SQLite's online backup API copies the pages under a read transaction, so the copy
is one moment of the database even while answers keep arriving. The copy is then
checked (integrity, answers counted) before the command says it is done.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from bot.cli.arguments import UsageError
from bot.infra.config import Settings
from storage.times import system_clock


def register(commands: argparse._SubParsersAction) -> None:
    backup = commands.add_parser("backup", help="copy the database, safely while the bot runs")
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    backup.set_defaults(handler=run_backup)


async def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.runtime import open_database

    target = _target(args.file, settings)
    async with open_database(settings, system_clock) as db:
        try:
            await db.backup(target)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot write {target}: {exc}") from None
    answers, sessions = check(target)
    print(f"backup written to {target}: {answers} answers in {sessions} sessions", file=sys.stderr)
    print(
        f"keep {settings.secret_file} with it: without that file, a restored database "
        "takes every service user for a new one",
        file=sys.stderr,
    )
    return 0


def _target(target: Path, settings: Settings) -> Path:
    """Refuse before opening anything: opening a missing database would create one."""
    if settings.db_path is None:
        raise UsageError("carecheck backup copies a SQLite file; back PostgreSQL up with pg_dump")
    if not settings.db_path.is_file():
        raise UsageError(f"there is no database at {settings.db_path}")
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"the directory {target.parent} does not exist")
    return target


def check(path: Path) -> tuple[int, int]:
    """Open the copy on its own and count what is in it; fail if it is damaged."""
    from storage.db import check_copy
    from storage.errors import DamagedCopy

    try:
        return check_copy(path)
    except DamagedCopy as exc:
        raise UsageError(f"the backup {path} failed its integrity check: {exc}") from None
