"""`carecheck org|unit|invite|admin ...`: set up organisations and who may join them."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, between, positive
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.organisations import Organisations

ROLES = ("staff", "service_user", "manager", "admin")
DEFAULT_BOT = "carecheck_bot"


def register(commands: argparse._SubParsersAction) -> None:
    org = commands.add_parser("org", help="organisations").add_subparsers(
        dest="org_command", required=True
    )
    create = org.add_parser("create", help="create an organisation")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="Europe/Ljubljana")
    create.add_argument("--language", choices=LANGUAGES, default="en")
    create.add_argument(
        "--k", type=between(1, 1000), default=5, help="smallest group shown in reports"
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=create_org)
    window = org.add_parser("window", help="how many weeks each score covers")
    window.add_argument("--org", type=positive, required=True)
    window.add_argument("--weeks", type=positive, required=True, help="4, 8, 13, 26 or 52")
    window.set_defaults(handler=set_window)

    listing = org.add_parser("list", help="list organisations")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_orgs)

    unit = commands.add_parser("unit", help="units of an organisation").add_subparsers(
        dest="unit_command", required=True
    )
    unit_create = unit.add_parser("create", help="create a unit")
    unit_create.add_argument("--org", type=positive, required=True)
    unit_create.add_argument("--name", required=True)
    unit_create.add_argument("--json", action="store_true")
    unit_create.set_defaults(handler=create_unit)

    invite = commands.add_parser("invite", help="invitation links").add_subparsers(
        dest="invite_command", required=True
    )
    invite_create = invite.add_parser("create", help="create an invitation link")
    invite_create.add_argument("--org", type=positive, required=True)
    invite_create.add_argument("--unit", type=positive)
    invite_create.add_argument("--role", choices=ROLES, required=True)
    invite_create.add_argument(
        "--uses", type=between(1, 1_000_000), help="how many people may use it"
    )
    invite_create.add_argument("--expires-days", type=between(1, 3650))
    invite_create.add_argument("--bot", default=DEFAULT_BOT, help="the bot's username")
    invite_create.add_argument("--qr", type=Path, metavar="FILE.png", help="write a QR poster")
    invite_create.add_argument("--json", action="store_true")
    invite_create.set_defaults(handler=create_invite)
    revoke = invite.add_parser("revoke", help="withdraw an invitation link")
    revoke.add_argument("code")
    revoke.set_defaults(handler=revoke_invite)

    admin = commands.add_parser("admin", help="administrators").add_subparsers(
        dest="admin_command", required=True
    )
    add = admin.add_parser("add", help="make a Telegram user a global administrator")
    add.add_argument("telegram_id", type=positive, metavar="TELEGRAM_USER_ID")
    add.set_defaults(handler=add_admin)


async def create_org(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        org_id = await organisations.create(args.name, args.timezone, args.language, args.k)
    print(json.dumps({"id": org_id}) if args.json else org_id)
    return 0


async def list_orgs(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        orgs = await organisations.all()
    if args.json:
        print(json.dumps([{"id": o.id, "name": o.name, "demo": o.is_demo} for o in orgs]))
    for org in [] if args.json else orgs:
        print(f"{org.id}\t{org.name}\t{org.timezone}\t{org.language}\tk={org.k_threshold}")
    return 0


async def set_window(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        segment = await organisations.set_window(args.org, args.weeks)
    print(f"scores over {segment.weeks} weeks from {segment.starts_on.isoformat()}")
    return 0


async def create_unit(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        unit_id = await organisations.create_unit(args.org, args.name)
    print(json.dumps({"id": unit_id}) if args.json else unit_id)
    return 0


async def create_invite(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        invite = await organisations.create_invite(
            args.org, args.unit, args.role, args.uses, args.expires_days
        )
    link = f"https://t.me/{args.bot}?start={invite.code}"
    if args.qr:
        write_qr(link, args.qr)
    print(json.dumps({"code": invite.code, "link": link}) if args.json else link)
    return 0


def write_qr(link: str, path: Path) -> None:
    """A printable QR code (the service users' poster), big enough to scan from a wall."""
    import segno

    try:
        segno.make(link, error="m").save(str(path), kind="png", scale=12, border=4)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


async def revoke_invite(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        await organisations.revoke_invite(args.code)
    print("revoked")
    return 0


async def add_admin(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        added = await organisations.add_admin(args.telegram_id)
    print("added" if added else "already an administrator")
    return 0


@asynccontextmanager
async def _organisations(settings: Settings) -> AsyncIterator[Organisations]:
    from bot.services.organisations import Organisations
    from bot.services.runtime import open_database

    async with open_database(settings, system_clock) as db:
        yield Organisations(db)
