"""`carecheck digest`: one organisation's (or unit's) digest, printed or written, no Telegram."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.arguments import UsageError, finite, positive
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import system_clock

FORMATS = ("text", "html", "json", "png")


def register(commands: argparse._SubParsersAction) -> None:
    digest = commands.add_parser("digest", help="print or write one digest")
    digest.add_argument("--org", type=positive, required=True, help="organisation id")
    digest.add_argument("--unit", type=positive, help="unit id (default: the whole organisation)")
    digest.add_argument("--period", help="ISO week like 2026-W47 (default: the last complete one)")
    digest.add_argument("--lang", choices=LANGUAGES, help="default: the organisation's language")
    digest.add_argument("--lens", help="framework to report under (default: the organisation's)")
    digest.add_argument(
        "--gap", type=finite, help="smallest staff/service-user gap to flag (default: the org's)"
    )
    digest.add_argument(
        "--format", choices=FORMATS, default="text", help="png is the chart and needs --out"
    )
    digest.add_argument("--out", type=Path, help="write to this file instead of printing")
    digest.set_defaults(handler=run_digest)


async def run_digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.digests.digest_chart import render_chart
    from bot.services.digests.digest_compute import DigestError, compute_digest
    from bot.services.digests.digest_render import digest_json, plain_text, report_html
    from bot.services.organisations import Organisations
    from bot.services.own_frameworks import OwnFrameworks
    from bot.services.periods import parse_period
    from bot.services.runtime import open_database
    from frameworks import default_frameworks

    if args.period is not None:
        try:
            parse_period(args.period)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.format == "png" and args.out is None:
        raise UsageError("--format png writes an image: give --out FILE")
    gap = args.gap
    if gap is not None and not 0 < gap <= 4:
        raise UsageError("--gap is a difference on the 1-5 scale, between 0 and 4")
    async with open_database(settings, system_clock) as db:
        org = await Organisations(db).get(args.org)
        frameworks = await OwnFrameworks(db, default_frameworks()).of(args.org)
        try:
            digest = await compute_digest(
                db, frameworks, args.org, args.unit, args.period, lens=args.lens, gap=gap
            )
        except DigestError as exc:
            raise UsageError(str(exc)) from None

    language = args.lang or org.language
    if args.format == "png":
        _write(args.out, render_chart(digest, frameworks, language))
        return 0
    if args.format == "html":
        text = report_html(digest, frameworks, language)
    elif args.format == "json":
        text = digest_json(digest) + "\n"
    else:
        text = plain_text(digest, frameworks, language)
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write(args.out, text.encode("utf-8"))
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
