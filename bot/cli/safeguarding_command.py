"""`carecheck safeguarding contacts|help ...`: who is alerted, and what a person is told.

`org set ID --help-text-file FILE` sets the help text too (`setup_commands`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, positive
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.safeguarding import Safeguarding


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "safeguarding", help="safeguarding contacts and help text"
    ).add_subparsers(dest="safeguarding_command", required=True)
    contacts = group.add_parser(
        "contacts",
        help="who gets safeguarding alerts",
        description="People flagged here get the organisation's alerts; without any, its"
        " managers do. The managers of a unit always get their unit's.",
    )
    contacts.add_argument("--org", type=positive, required=True)
    which = contacts.add_mutually_exclusive_group()
    which.add_argument("--add", type=positive, metavar="PERSON_ID")
    which.add_argument("--remove", type=positive, metavar="PERSON_ID")
    contacts.add_argument("--json", action="store_true")
    contacts.set_defaults(handler=safeguarding_contacts)
    help_text = group.add_parser("help", help="the help text a person sees after a signal")
    help_text.add_argument("--org", type=positive, required=True)
    how = help_text.add_mutually_exclusive_group()
    how.add_argument("--file", type=Path, help="YAML {en: ..., sl: ...} or one plain text")
    how.add_argument("--reset", action="store_true", help="back to the default text")
    help_text.add_argument("--json", action="store_true")
    help_text.set_defaults(handler=safeguarding_help)


async def safeguarding_contacts(args: argparse.Namespace, settings: Settings) -> int:
    async with _safeguarding(settings) as safeguarding:
        if args.add is not None:
            await safeguarding.add_contact(args.org, args.add)
        elif args.remove is not None:
            await safeguarding.remove_contact(args.org, args.remove)
        contacts = await safeguarding.contacts(args.org)
    if args.json:
        print(json.dumps({"org": args.org, "contacts": contacts}))
    else:
        print(" ".join(map(str, contacts)) if contacts else "none: the managers are alerted")
    return 0


async def safeguarding_help(args: argparse.Namespace, settings: Settings) -> int:
    async with _safeguarding(settings) as safeguarding:
        if args.file is not None:
            await safeguarding.set_help_file(args.org, read_help_file(args.file))
        elif args.reset:
            await safeguarding.set_help_texts(args.org, {})
        own = await safeguarding.help_texts(args.org)
        texts = {lang: await safeguarding.help_text(args.org, lang) for lang in LANGUAGES}
    if args.json:
        print(json.dumps({"org": args.org, "own": sorted(own), "texts": texts}))
    for lang in [] if args.json else LANGUAGES:
        mark = "" if lang in own else " (default)"
        print(f"{lang}{mark}: {texts[lang]}")
    return 0


async def set_help_file(settings: Settings, org_id: int, data: bytes) -> None:
    async with _safeguarding(settings) as safeguarding:
        await safeguarding.set_help_file(org_id, data)


def read_help_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


@asynccontextmanager
async def _safeguarding(settings: Settings) -> AsyncIterator[Safeguarding]:
    from bot.services.runtime import open_database
    from bot.services.safeguarding import Safeguarding
    from bot.services.script_registry import ScriptRegistry
    from frameworks import default_frameworks

    async with open_database(settings, system_clock) as db:
        yield Safeguarding(db, ScriptRegistry(db, default_frameworks()))
