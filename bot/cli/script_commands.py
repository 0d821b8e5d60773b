"""`carecheck script ...`: validate, publish, list, show, roll back, export and draw dialog scripts.

Files may be YAML or .xlsx workbooks. `--org ID` acts on an organisation's own
variant, which its people get instead of the global script. Invalid scripts
print every error, located, and exit 1; nothing is stored.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.arguments import UsageError, positive
from bot.infra.config import Settings, load_settings
from storage.times import system_clock

if TYPE_CHECKING:
    from bot.services.runtime import Runtime
    from bot.services.script_admin import Draft, ScriptAdmin
    from dialogs.validate import FrameworkIndex
    from storage.scripts import ScriptVersion


def register(commands: argparse._SubParsersAction) -> None:
    script = commands.add_parser("script", help="validate and manage dialog scripts")
    sub = script.add_subparsers(dest="script_command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check script files (.yaml or .xlsx)")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument(
        "--org",
        type=positive,
        metavar="ID",
        help="check as that organisation's variant",
    )
    validate.set_defaults(handler=validate_files, needs_settings=False)

    publish = sub.add_parser("publish", help="check a script file and make it the live version")
    publish.add_argument("file", type=Path, metavar="FILE")
    _org(publish)
    publish.set_defaults(handler=publish_file)

    listing = sub.add_parser("list", help="the live scripts: version, scope, who and when")
    listing.set_defaults(handler=list_scripts)

    show = sub.add_parser("show", help="print a version's stored text (or --summary)")
    show.add_argument("ref", metavar="ID[@VERSION]")
    _org(show)
    show.add_argument("--summary", action="store_true", help="describe instead of the text")
    show.set_defaults(handler=show_script)

    rollback = sub.add_parser("rollback", help="publish an earlier version again, as a new one")
    rollback.add_argument("script_id", metavar="ID")
    rollback.add_argument("--to", dest="to_version", type=positive, required=True, metavar="N")
    _org(rollback)
    rollback.set_defaults(handler=rollback_script)

    export = sub.add_parser("export", help="write a version as YAML or as an .xlsx workbook")
    export.add_argument("script_id", metavar="ID")
    export.add_argument("--format", dest="fmt", choices=("yaml", "xlsx"), default="yaml")
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    export.add_argument("--version", dest="number", type=positive, metavar="N")
    _org(export)
    export.set_defaults(handler=export_script)

    graph = sub.add_parser("graph", help="print Mermaid diagrams of a script")
    graph.add_argument("script_id", metavar="ID")
    graph.add_argument("--version", dest="number", type=positive, metavar="N")
    _org(graph)
    graph.set_defaults(handler=graph_script)


def _org(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", type=positive, metavar="ID", help="an organisation's own variant")


async def validate_files(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.services.script_admin import read_draft
    from frameworks import default_frameworks

    frameworks: FrameworkIndex = default_frameworks()
    if args.org is not None:
        # An organisation's variant may also map to the organisation's own frameworks.
        async with _admin(load_settings(config_file=args.config)) as (admin, runtime):
            await _check_org(runtime, args.org)
            frameworks = await admin.frameworks_of(args.org)
    failed = 0
    for path in args.files:
        draft = _read(path, lambda data, name: read_draft(data, name, frameworks))
        if draft.ok and draft.script is not None:
            count = len(draft.script.questions())
            print(f"{path}: ok ({draft.script.id}, {count} questions)")
        else:
            failed += 1
            for error in draft.errors:
                print(error)
    if failed:
        print(f"{failed} of {len(args.files)} files have errors", file=sys.stderr)
    return 1 if failed else 0


async def publish_file(args: argparse.Namespace, settings: Settings) -> int:
    async with _admin(settings) as (admin, runtime):
        await _check_org(runtime, args.org)
        frameworks = await admin.frameworks_of(args.org)
        draft = _read(args.file, lambda data, name: admin.load_draft(data, name, frameworks))
        if not draft.ok:
            for error in draft.errors:
                print(error)
            print(f"{args.file}: not published", file=sys.stderr)
            return 1
        published = await admin.publish(draft, args.org, await _operator(runtime))
        if published.summary is not None:
            print("\n".join(published.summary.lines()))
        version = published.version
        if published.created:
            print(f"published {version.script_id} version {version.version} ({_scope(args.org)})")
        else:
            print(
                f"{version.script_id} version {version.version} is already live "
                f"({_scope(version.org_id)}); nothing changed"
            )
        return 0


async def list_scripts(args: argparse.Namespace, settings: Settings) -> int:
    async with _admin(settings) as (admin, runtime):
        rows = [("script", "scope", "version", "form", "published (UTC)", "by", "title")]
        for v in await admin.scripts():
            when = v.published_at.strftime("%Y-%m-%d %H:%M")
            by = await _who(runtime, v.published_by)
            rows.append(
                (v.script_id, _scope(v.org_id), str(v.version), v.source_format, when, by, v.title)
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            print("  ".join([*cells, row[-1]]).rstrip())
        return 0


async def show_script(args: argparse.Namespace, settings: Settings) -> int:
    script_id, number = _reference(args.ref)
    async with _admin(settings) as (admin, runtime):
        version = await _version(admin, script_id, args.org, number)
        if not args.summary:
            sys.stdout.write(version.source_text)
            if not version.source_text.endswith("\n"):
                sys.stdout.write("\n")
            return 0
        script = (await admin.registry.loaded(version)).script
        by = await _who(runtime, version.published_by)
        print(f"{script.id} version {version.version} ({_scope(version.org_id)})")
        print(f"  title: {version.title}")
        print(f"  published: {version.published_at:%Y-%m-%d %H:%M} UTC by {by}")
        print(f"  form: {version.source_format}; audience: {script.audience}")
        print(f"  languages: {', '.join(script.languages)}")
        rotation = script.pulse.rotation
        per = script.pulse.questions_per_session
        print(f"  per session: {per or 'all'}; rotation: {rotation}")
        print(f"  {len(script.questions())} questions in {len(script.sections)} sections:")
        for section in script.sections:
            print(f"    {section.id}: {', '.join(q.id for q in section.questions)}")
        return 0


async def rollback_script(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.script_admin import InvalidDraft

    async with _admin(settings) as (admin, runtime):
        await _version(admin, args.script_id, args.org, args.to_version)
        try:
            published = await admin.rollback(
                args.script_id, args.org, args.to_version, await _operator(runtime)
            )
        except InvalidDraft as exc:
            for error in exc.errors:
                print(error)
            print(
                f"version {args.to_version} no longer validates; not rolled back", file=sys.stderr
            )
            return 1
        if published.summary is not None:
            print("\n".join(published.summary.lines()))
        version = published.version
        scope = _scope(args.org)
        if published.created:
            print(
                f"{version.script_id}: version {args.to_version} published again "
                f"as version {version.version} ({scope})"
            )
        else:
            print(
                f"{version.script_id}: version {args.to_version}'s text is already live ({scope})"
            )
        return 0


async def export_script(args: argparse.Namespace, settings: Settings) -> int:
    if args.fmt == "xlsx" and args.out is None and sys.stdout.isatty():
        raise UsageError("an .xlsx workbook is binary: give --out FILE, or redirect the output")
    async with _admin(settings) as (admin, _runtime):
        await _version(admin, args.script_id, args.org, args.number)
        exported = await admin.export(args.script_id, args.org, args.fmt, args.number)
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(exported.data)
        sys.stdout.buffer.flush()
        return 0
    try:
        args.out.write_bytes(exported.data)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {args.out} ({exported.filename}, {len(exported.data)} bytes)", file=sys.stderr)
    return 0


async def graph_script(args: argparse.Namespace, settings: Settings) -> int:
    async with _admin(settings) as (admin, _runtime):
        await _version(admin, args.script_id, args.org, args.number)
        print(await admin.graph(args.script_id, args.org, args.number), end="")
    return 0


# ---- helpers ----


@asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[tuple[ScriptAdmin, Runtime]]:
    from bot.services.runtime import open_runtime
    from bot.services.script_admin import ScriptAdmin

    async with open_runtime(settings, system_clock) as runtime:
        yield ScriptAdmin(runtime.scripts), runtime


def _read(path: Path, load: Callable[[bytes, str], Draft]) -> Draft:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return load(data, path.name)


def _reference(ref: str) -> tuple[str, int | None]:
    """`staff-pulse@3` -> ("staff-pulse", 3); `staff-pulse` -> ("staff-pulse", None)."""
    script_id, at, number = ref.partition("@")
    if not at:
        return script_id, None
    if not number.isdigit() or int(number) < 1:
        raise UsageError(f"{ref!r}: a version is a whole number from 1, like {script_id}@2")
    return script_id, int(number)


async def _version(
    admin: ScriptAdmin, script_id: str, org_id: int | None, number: int | None
) -> ScriptVersion:
    from bot.services.script_admin import VersionNotFound

    try:
        return await admin.version(script_id, org_id, number)
    except VersionNotFound as exc:
        names = sorted({v.script_id for v in await admin.scripts()})
        raise UsageError(f"{exc}; scripts: {', '.join(names)}") from None


async def _check_org(runtime: Runtime, org_id: int | None) -> None:
    from bot.services.organisations import Organisations

    if org_id is not None:
        await Organisations(runtime.db).get(org_id)


async def _operator(runtime: Runtime) -> int:
    """The person who publishes from the terminal (the console's user), so that the
    shipped defaults never replace what an operator published."""
    from bot.services.organisations import Organisations

    return await Organisations(runtime.db).person()


async def _who(runtime: Runtime, person_id: int | None) -> str:
    from bot.services.organisations import Organisations

    return await Organisations(runtime.db).publisher(person_id)


def _scope(org_id: int | None) -> str:
    return "global" if org_id is None else f"organisation {org_id}"
