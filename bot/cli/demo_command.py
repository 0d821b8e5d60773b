"""`carecheck demo`: a clearly labelled demo organisation full of synthetic answers."""

from __future__ import annotations

import argparse

from bot.cli.arguments import UsageError, between
from bot.infra.config import Settings
from bot.infra.i18n import LANGUAGES
from storage.times import system_clock

LIMITS = {"weeks": 104, "staff": 2000, "users": 20000}


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="create a demo organisation with synthetic answers")
    demo.add_argument("--org", dest="name", default="Demo Care Home", help="its name")
    demo.add_argument("--weeks", type=between(1, 520), default=26, help="complete weeks of answers")
    demo.add_argument("--staff", type=between(1, 10_000), default=40, help="staff members")
    demo.add_argument("--users", type=between(1, 100_000), default=200, help="service users")
    demo.add_argument("--seed", type=between(0, 2**32), default=1, help="same seed, same answers")
    demo.add_argument("--lang", choices=LANGUAGES, default="en", help="organisation language")
    demo.add_argument("--lens", default="equass", help="framework its digests report under")
    demo.add_argument(
        "--quiet", action="store_true", help="print only the new organisation's number"
    )
    demo.set_defaults(handler=run_demo)


async def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.digests.demo_data import create_demo
    from bot.services.runtime import open_runtime

    for name, limit in LIMITS.items():
        if getattr(args, name) > limit:
            raise UsageError(f"--{name} is at most {limit} for a demo")
    if not args.name.strip():
        raise UsageError("--org needs a name")
    async with open_runtime(settings, system_clock) as runtime:
        if args.lens not in runtime.frameworks:
            known = ", ".join(runtime.frameworks.ids())
            raise UsageError(f"unknown lens {args.lens!r}; known: {known}")
        result = await create_demo(
            runtime.db,
            runtime.scripts,
            runtime.frameworks,
            today=system_clock().date(),
            name=args.name.strip(),
            weeks=args.weeks,
            staff=args.staff,
            users=args.users,
            seed=args.seed,
            language=args.lang,
            lens=args.lens,
        )
    if args.quiet:  # for scripts: org="$(carecheck demo --quiet)"
        print(result.org_id)
        return 0
    units = ", ".join(name for _id, name in result.units)
    print(f"Demo organisation {result.org_id}: {result.name} (marked as demo data)")
    print(f"  units: {units}")
    print(
        f"  {result.staff} staff, {result.sessions} check-ins and feedback sessions,"
        f" {result.answers} answers, {result.first_period} to {result.last_period}"
    )
    print(f"  {result.actions} improvement actions")
    print(f"Next: carecheck digest --org {result.org_id}")
    return 0
