"""`carecheck org|unit|invite|people|admin ...`: set up organisations, their settings, and
who may join them; every listing and change also as `--json` (keys kept stable)."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.arguments import UsageError, between, positive
from bot.cli.bot_account import bot_username, username
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import instant_text, system_clock

if TYPE_CHECKING:
    from bot.services.org_settings import SettingsChange
    from bot.services.organisations import Organisations
    from storage.invites import Invite
    from storage.orgs import Org, Unit

ROLES = ("staff", "service_user", "manager", "admin")


def register(commands: argparse._SubParsersAction) -> None:
    org = commands.add_parser("org", help="organisations").add_subparsers(
        dest="org_command", required=True
    )
    create = org.add_parser("create", help="create an organisation")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="Europe/Ljubljana")
    create.add_argument("--language", choices=LANGUAGES, default="en")
    create.add_argument(
        "--k", type=between(3, 1000), default=5, help="smallest group shown in reports"
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=create_org)
    window = org.add_parser("window", help="how many weeks each score covers")
    window.add_argument("--org", type=positive, required=True)
    window.add_argument("--weeks", type=positive, required=True, help="4, 8, 13, 26 or 52")
    window.set_defaults(handler=set_window)

    listing = org.add_parser("list", help="list organisations and their settings")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_orgs)
    show = org.add_parser("show", help="an organisation's settings")
    show.add_argument("org", type=positive, metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_org)
    change = org.add_parser(
        "set",
        help="change an organisation's settings",
        description="Every value is checked first: one bad value changes nothing.",
    )
    change.add_argument("org", type=positive, metavar="ID")
    change.add_argument("--name")
    change.add_argument("--lens", help="the framework digests report under (see org show)")
    change.add_argument(
        "--checkin", metavar='"Mon 09:00"', help="weekday (Mon..Sun) and whole hour, local time"
    )
    change.add_argument("--timezone", metavar="TZ", help="like Europe/Ljubljana")
    change.add_argument("--language", metavar="L", help=", ".join(LANGUAGES))
    change.add_argument("--k", metavar="N", help="smallest group shown in reports, at least 3")
    change.add_argument("--retention-months", metavar="M", help="1 to 120")
    change.add_argument("--gap", metavar="G", help="staff/service-user gap flagged, 0.1 to 2.0")
    change.add_argument("--window", metavar="W", help="weeks per score: 4, 8, 13, 26 or 52")
    change.add_argument(
        "--help-text-file",
        type=Path,
        metavar="FILE",
        help="safeguarding help: YAML {en: ..., sl: ...} or one plain text (see safeguarding help)",
    )
    change.add_argument("--json", action="store_true")
    change.set_defaults(handler=set_org)

    unit = commands.add_parser("unit", help="units of an organisation").add_subparsers(
        dest="unit_command", required=True
    )
    unit_create = unit.add_parser("create", help="create a unit")
    unit_create.add_argument("--org", type=positive, required=True)
    unit_create.add_argument("--name", required=True)
    unit_create.add_argument("--json", action="store_true")
    unit_create.set_defaults(handler=create_unit)
    unit_list = unit.add_parser("list", help="an organisation's units, archived ones too")
    unit_list.add_argument("--org", type=positive, required=True)
    unit_list.add_argument("--json", action="store_true")
    unit_list.set_defaults(handler=list_units)
    rename = unit.add_parser("rename", help="rename a unit")
    rename.add_argument("unit", type=positive, metavar="UNIT_ID")
    rename.add_argument("--name", required=True)
    rename.add_argument("--json", action="store_true")
    rename.set_defaults(handler=rename_unit)
    archive = unit.add_parser(
        "archive",
        help="archive a unit: no new people; its staff stay, for the whole organisation",
    )
    archive.add_argument("unit", type=positive, metavar="UNIT_ID")
    archive.add_argument("--json", action="store_true")
    archive.set_defaults(handler=archive_unit)

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
    invite_create.add_argument(
        "--bot", type=username, help="the bot's username (default: from getMe with the token)"
    )
    invite_create.add_argument("--qr", type=Path, metavar="FILE.png", help="write a QR poster")
    invite_create.add_argument("--json", action="store_true")
    invite_create.set_defaults(handler=create_invite)
    invite_list = invite.add_parser("list", help="an organisation's invitation links")
    invite_list.add_argument("--org", type=positive, required=True)
    invite_list.add_argument("--json", action="store_true")
    invite_list.set_defaults(handler=list_invites)
    revoke = invite.add_parser("revoke", help="withdraw an invitation link")
    revoke.add_argument("code")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(handler=revoke_invite)

    people = commands.add_parser("people", help="staff, managers and admins").add_subparsers(
        dest="people_command", required=True
    )
    people_list = people.add_parser("list", help="everyone with a role in an organisation")
    people_list.add_argument("--org", type=positive, required=True)
    people_list.add_argument("--json", action="store_true")
    people_list.set_defaults(handler=list_people)
    deactivate = people.add_parser(
        "deactivate",
        help="someone who left: their roles end, their answers stay in the scores",
    )
    deactivate.add_argument("person", type=positive, metavar="PERSON_ID")
    deactivate.add_argument("--org", type=positive, required=True)
    deactivate.add_argument("--json", action="store_true")
    deactivate.set_defaults(handler=deactivate_person)

    admin = commands.add_parser("admin", help="administrators").add_subparsers(
        dest="admin_command", required=True
    )
    add = admin.add_parser("add", help="make a Telegram user a global administrator")
    add.add_argument("telegram_id", type=positive, metavar="TELEGRAM_USER_ID")
    add.set_defaults(handler=add_admin)
    admin_list = admin.add_parser("list", help="global administrators, or an organisation's")
    admin_list.add_argument("--org", type=positive)
    admin_list.add_argument("--json", action="store_true")
    admin_list.set_defaults(handler=list_admins)
    remove = admin.add_parser("remove", help="end an administrator's role")
    remove.add_argument("telegram_id", type=positive, metavar="TELEGRAM_USER_ID")
    remove.add_argument("--org", type=positive, help="an organisation's admin (default: global)")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(handler=remove_admin)


async def create_org(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        org_id = await organisations.create(args.name, args.timezone, args.language, args.k)
    print(json.dumps({"id": org_id}) if args.json else org_id)
    return 0


async def list_orgs(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        orgs = [
            org_fields(org, await organisations.window_weeks(org.id))
            for org in await organisations.all()
        ]
    if args.json:
        print(json.dumps(orgs))
    for org in [] if args.json else orgs:
        print("\t".join(str(org[key]) for key in ("id", "name", "lens", "checkin", "timezone")))
    return 0


async def show_org(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        org = await organisations.get(args.org)
        fields = org_fields(org, await organisations.window_weeks(org.id))
        fields["lenses"] = await organisations.lens_choices(org.id)
    _print_fields(fields, args.json)
    return 0


async def set_org(args: argparse.Namespace, settings: Settings) -> int:
    change = settings_change(args)
    help_file = getattr(args, "help_text_file", None)
    if not change.given() and help_file is None:
        raise UsageError("nothing to change: give at least one option, such as --lens")
    if help_file is not None:
        from bot.cli.safeguarding_command import read_help_file, set_help_file

        await set_help_file(settings, args.org, read_help_file(help_file))
    async with _organisations(settings) as organisations:
        org = (
            await organisations.change_settings(args.org, change)
            if change.given()
            else await organisations.get(args.org)
        )
        fields = org_fields(org, await organisations.window_weeks(org.id))
    _print_fields(fields, args.json)
    return 0


def settings_change(args: argparse.Namespace) -> SettingsChange:
    """The options of `org set` as one change; a malformed number is refused by name."""
    from bot.services.org_settings import (
        BAD_GAP,
        BAD_K,
        BAD_RETENTION,
        BAD_WINDOW,
        SettingRefused,
        SettingsChange,
    )

    def number(option: str, text: str | None, message: str, kind: type = int) -> Any:
        if text is None:
            return None
        try:
            if len(text) <= 40:
                return kind(text.strip())
        except ValueError:
            pass
        raise SettingRefused(option, message)

    change = SettingsChange(
        name=args.name,
        lens=args.lens,
        timezone=args.timezone,
        language=args.language,
        k=number("k", args.k, BAD_K),
        retention_months=number("retention-months", args.retention_months, BAD_RETENTION),
        gap=number("gap", args.gap, BAD_GAP, float),
        window=number("window", args.window, BAD_WINDOW),
    )
    return change.with_checkin(args.checkin)


def org_fields(org: Org, window_weeks: int) -> dict[str, Any]:
    """An organisation's settings under the keys `org show|list|set --json` print."""
    from bot.services.org_settings import checkin_text

    return {
        "id": org.id,
        "name": org.name,
        "demo": org.is_demo,
        "lens": org.lens,
        "checkin": checkin_text(org.checkin_weekday, org.checkin_hour),
        "timezone": org.timezone,
        "language": org.language,
        "k": org.k_threshold,
        "retention_months": org.retention_months,
        "gap": org.gap_threshold,
        "window": window_weeks,
    }


def _print_fields(fields: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(fields))
        return
    for key, value in fields.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"{key}\t{shown}")


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


def unit_fields(unit: Unit) -> dict[str, Any]:
    archived = unit.archived_on.isoformat() if unit.archived_on else None
    return {"id": unit.id, "org": unit.org_id, "name": unit.name, "archived_on": archived}


async def list_units(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        units = [unit_fields(unit) for unit in await organisations.units(args.org)]
    if args.json:
        print(json.dumps(units))
    for unit in [] if args.json else units:
        archived = f"\tarchived {unit['archived_on']}" if unit["archived_on"] else ""
        print(f"{unit['id']}\t{unit['name']}{archived}")
    return 0


async def rename_unit(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        unit = await organisations.rename_unit(args.unit, args.name)
    print(json.dumps(unit_fields(unit)) if args.json else f"renamed: {unit.name}")
    return 0


async def archive_unit(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        done = await organisations.archive_unit(args.unit)
    fields = {
        "id": args.unit,
        "org": done.org_id,
        "invites_revoked": done.invites_revoked,
        "staff_moved": done.staff_moved,
        "roles_ended": done.roles_ended,
    }
    if args.json:
        print(json.dumps(fields))
    else:
        print(
            f"archived; {done.invites_revoked} links withdrawn, {done.staff_moved} staff now of"
            f" the whole organisation, {done.roles_ended} unit roles ended"
        )
    return 0


def invite_fields(invite: Invite) -> dict[str, Any]:
    def moment(value: Any) -> str | None:
        return None if value is None else instant_text(value)

    return {
        "code": invite.code,
        "org": invite.org_id,
        "unit": invite.unit_id,
        "role": invite.role,
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "expires_at": moment(invite.expires_at),
        "revoked_at": moment(invite.revoked_at),
        "created_at": moment(invite.created_at),
    }


async def list_invites(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        invites = [invite_fields(i) for i in await organisations.invites_of(args.org)]
    if args.json:
        print(json.dumps(invites))
    for invite in [] if args.json else invites:
        uses = f"{invite['uses']}/{invite['max_uses'] or '∞'}"
        state = "withdrawn" if invite["revoked_at"] else f"expires {invite['expires_at'] or '-'}"
        unit = invite["unit"] or "-"
        print(f"{invite['code']}\t{invite['role']}\tunit {unit}\tused {uses}\t{state}")
    return 0


async def list_people(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        members = await organisations.members(args.org)
    people: list[dict[str, Any]] = [
        {
            "id": person.id,
            "telegram_id": person.telegram_id,
            "language": person.language,
            "checkins": person.active,
            "roles": [{"role": m.role, "unit": m.unit_id} for m in roles],
        }
        for person, roles in members
    ]
    if args.json:
        print(json.dumps(people))
    for row in [] if args.json else people:
        held = ", ".join(
            r["role"] + (f" of unit {r['unit']}" if r["unit"] else "") for r in row["roles"]
        )
        checkins = "check-ins on" if row["checkins"] else "check-ins off"
        print(f"{row['id']}\t{row['telegram_id']}\t{held}\t{checkins}")
    return 0


async def deactivate_person(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        ended = await organisations.deactivate(args.org, args.person)
    fields = {"id": args.person, "org": args.org, "roles_ended": ended}
    print(json.dumps(fields) if args.json else f"deactivated; {ended} roles ended")
    return 0


async def list_admins(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        admins = await organisations.admins(args.org)
    rows = [{"id": person.id, "telegram_id": person.telegram_id} for person in admins]
    if args.json:
        print(json.dumps(rows))
    for row in [] if args.json else rows:
        print(f"{row['id']}\t{row['telegram_id']}")
    return 0


async def remove_admin(args: argparse.Namespace, settings: Settings) -> int:
    async with _organisations(settings) as organisations:
        await organisations.remove_admin(args.telegram_id, args.org)
    fields = {"telegram_id": args.telegram_id, "org": args.org, "removed": True}
    print(json.dumps(fields) if args.json else "removed")
    return 0


async def create_invite(args: argparse.Namespace, settings: Settings) -> int:
    bot = await bot_username(args.bot, settings)
    async with _organisations(settings) as organisations:
        invite = await organisations.create_invite(
            args.org, args.unit, args.role, args.uses, args.expires_days
        )
    link = f"https://t.me/{bot}?start={invite.code}"
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
    print(json.dumps({"code": args.code, "revoked": True}) if args.json else "revoked")
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
