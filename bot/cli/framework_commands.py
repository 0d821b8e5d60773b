"""`carecheck framework ...`: an organisation's own framework (its quality areas).

`validate` checks files (YAML with a top-level `framework:` key, or a workbook with
`framework` and `items` sheets) and prints every error, located, exit 1 on errors.
`publish --org` stores a new version, which becomes the organisation's live one;
`list` and `show` read what an organisation has. Nothing else can see it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, positive
from bot.infra.config import Settings
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.own_frameworks import FrameworkDraft, OwnFrameworks
    from bot.services.runtime import Runtime


def register(commands: argparse._SubParsersAction) -> None:
    framework = commands.add_parser(
        "framework", help="an organisation's own framework: its quality areas"
    )
    sub = framework.add_subparsers(dest="framework_command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check framework files (.yaml or .xlsx)")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=validate_files, needs_settings=False)

    publish = sub.add_parser("publish", help="check a framework file and publish a new version")
    publish.add_argument("file", type=Path, metavar="FILE")
    _org(publish)
    publish.set_defaults(handler=publish_file)

    listing = sub.add_parser("list", help="the organisation's own frameworks, live versions")
    _org(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_frameworks)

    book = sub.add_parser("workbook", help="write a valid framework file as an .xlsx workbook")
    book.add_argument("file", type=Path, metavar="FILE")
    book.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx")
    book.set_defaults(handler=write_workbook, needs_settings=False)

    show = sub.add_parser("show", help="print a version's stored text")
    show.add_argument("ref", metavar="ID[@VERSION]")
    _org(show)
    show.set_defaults(handler=show_framework)


def _org(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", type=positive, required=True, metavar="ID")


def _read(path: Path) -> FrameworkDraft:
    from bot.services.own_frameworks import read_framework

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return read_framework(data, path.name)


async def validate_files(args: argparse.Namespace, settings: Settings | None) -> int:
    failed = 0
    for path in args.files:
        draft = _read(path)
        if draft.ok and draft.framework is not None:
            count = len(draft.framework.items)
            print(f"{path}: ok ({draft.framework.id}, {count} items)")
        else:
            failed += 1
            for error in draft.errors:
                print(error)
    if failed:
        print(f"{failed} of {len(args.files)} files have errors", file=sys.stderr)
    return 1 if failed else 0


async def write_workbook(args: argparse.Namespace, settings: Settings | None) -> int:
    draft = _read(args.file)
    if not draft.ok:
        for error in draft.errors:
            print(error)
        print(f"{args.file}: no workbook written", file=sys.stderr)
        return 1
    data = draft.workbook()
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


async def publish_file(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.own_frameworks import FrameworkRefused

    draft = _read(args.file)
    async with _own(settings) as (own, runtime):
        await runtime.organisations.get(args.org)
        if not draft.ok:
            for error in draft.errors:
                print(error)
            print(f"{args.file}: not published", file=sys.stderr)
            return 1
        try:
            published = await own.publish(draft, args.org, await runtime.organisations.person())
        except FrameworkRefused as refused:
            for error in refused.errors:
                print(error)
            print(f"{args.file}: not published", file=sys.stderr)
            return 1
    version = published.version
    if published.created:
        print(
            f"published {version.framework_id} version {version.version} (organisation {args.org})"
        )
    else:
        print(f"{version.framework_id} version {version.version} is already live; nothing changed")
    return 0


async def list_frameworks(args: argparse.Namespace, settings: Settings) -> int:
    async with _own(settings) as (own, runtime):
        await runtime.organisations.get(args.org)
        live = await own.live(args.org)
        rows = [
            {
                "id": v.framework_id,
                "version": v.version,
                "items": len(own.framework(v).items),
                "form": v.source_format,
                "published": v.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "title": v.title,
            }
            for v in live
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print(f"organisation {args.org} has no framework of its own")
    for row in rows:
        print(
            f"{row['id']}  version {row['version']}  {row['items']} items  {row['form']}  "
            f"{row['published']}  {row['title']}"
        )
    return 0


async def show_framework(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.own_frameworks import FrameworkNotFound

    framework_id, at, number = args.ref.partition("@")
    if at and (not number.isdigit() or int(number) < 1):
        raise UsageError(f"{args.ref!r}: a version is a whole number from 1, like {framework_id}@2")
    async with _own(settings) as (own, runtime):
        await runtime.organisations.get(args.org)
        try:
            version = await own.version(args.org, framework_id, int(number) if at else None)
        except FrameworkNotFound as exc:
            known = ", ".join(await own.ids(args.org)) or "none"
            raise UsageError(f"{exc}; its frameworks: {known}") from None
    sys.stdout.write(version.source_text)
    if not version.source_text.endswith("\n"):
        sys.stdout.write("\n")
    return 0


@asynccontextmanager
async def _own(settings: Settings) -> AsyncIterator[tuple[OwnFrameworks, Runtime]]:
    from bot.services.runtime import open_runtime

    async with open_runtime(settings, system_clock) as runtime:
        yield runtime.own_frameworks, runtime
