"""`carecheck poster`: a printable A4 poster, as PDF or PNG by the file's extension.

The invitation (the default) needs the bot's username for its link: from `getMe`
with the configured token, or `--bot`. `--you-said-we-did` lists the improvement
actions done in the last three months instead; it needs no link.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, positive
from bot.cli.bot_account import bot_username, username
from bot.infra.config import Settings
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.poster_render import Format

FORMATS: dict[str, Format] = {".pdf": "pdf", ".png": "png"}
CODE_CHARS = 64


def register(commands: argparse._SubParsersAction) -> None:
    poster = commands.add_parser("poster", help="a printable A4 poster (PDF or PNG)")
    poster.add_argument("--org", type=positive, required=True)
    poster.add_argument("--unit", type=positive, help="invite into this unit")
    poster.add_argument("--languages", help="e.g. sl,en (default: the organisation's and English)")
    poster.add_argument("--bot", type=username, help="the bot's username (default: from getMe)")
    poster.add_argument("--code", help="an existing service-user invitation to print")
    poster.add_argument(
        "--you-said-we-did",
        action="store_true",
        help="the improvement actions done in the last three months",
    )
    poster.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.png")
    poster.set_defaults(handler=make_poster)


async def make_poster(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.organisations import Organisations
    from bot.services.own_frameworks import OwnFrameworks
    from bot.services.posters import Posters
    from bot.services.runtime import open_database
    from frameworks import default_frameworks

    fmt = FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise UsageError(f"--out must end in .pdf or .png, not {args.out.name[-40:]!r}")
    if args.you_said_we_did and (args.unit or args.code or args.bot):
        raise UsageError("--you-said-we-did takes --org, --languages and --out only")
    if args.code is not None and (len(args.code) > CODE_CHARS or not args.code.isprintable()):
        raise UsageError("--code is not an invitation code")
    name = None if args.you_said_we_did else await bot_username(args.bot, settings)
    async with open_database(settings, system_clock) as db:
        shipped = default_frameworks()
        posters = Posters(Organisations(db, shipped), OwnFrameworks(db, shipped))
        if name is None:
            poster = await posters.you_said_we_did(args.org, args.languages, fmt)
        else:
            poster = await posters.invitation(
                args.org, args.unit, args.languages, name, args.code, fmt
            )
    try:
        args.out.write_bytes(poster.content)
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror}") from None
    print(poster.link or args.out)
    return 0
