"""Poster rendering time, and the example poster the README shows.

    python bench/poster.py [--runs 10] [--out bench/poster-example.png]

A fresh database gets a Slovenian organisation with a unit; the invitation poster (its
language and English) is rendered as PDF and as PNG `--runs` times each, and "you said,
we did" once three actions are done. Times are medians. The PNG of the last invitation
run is written to `--out`: the README's example, so it always shows what the code draws.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.organisations import Organisations
from bot.services.own_frameworks import OwnFrameworks
from bot.services.poster_render import Format
from bot.services.posters import Poster, Posters
from frameworks import default_frameworks
from storage.actions import ActionRepo
from storage.db import Database
from storage.orgs import OrgRepo

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DONE = [
    ("Fixed visiting hours posted at every door", "rights", date(2026, 11, 20)),
    ("Residents choose the weekly menu with the cook", "participation", date(2026, 10, 14)),
    ("A named key worker for every new resident", "person-centred", date(2026, 9, 9)),
]


async def median(runs: int, make: Callable[[], Awaitable[Poster]]) -> tuple[float, Poster]:
    times, made = [], None
    for _ in range(runs):
        start = time.perf_counter()
        made = await make()
        times.append(time.perf_counter() - start)
    assert made is not None
    return statistics.median(times) * 1000, made


async def run(args: argparse.Namespace, path: Path) -> None:
    db = await Database.open(path, clock=lambda: NOW)
    try:
        shipped = default_frameworks()
        organisations = Organisations(db, shipped)
        org = await organisations.create("Dom Sonce Šmarje", "Europe/Ljubljana", "sl", 5)
        unit = await OrgRepo(db).create_unit(org, "Enota Lipa")
        posters = Posters(organisations, OwnFrameworks(db, shipped))
        code = (await organisations.create_invite(org, unit, "service_user", None, None)).code
        for fmt in ("pdf", "png"):

            def invitation(fmt: Format = fmt) -> Awaitable[Poster]:
                return posters.invitation(org, unit, None, "carecheck_demo_bot", code, fmt)

            ms, made = await median(args.runs, invitation)
            print(f"invitation poster, {fmt}: {ms:.0f} ms ({len(made.content) // 1024} KiB)")
            if fmt == "png":
                args.out.write_bytes(made.content)
                print(f"wrote {args.out}")
        repo = ActionRepo(db)
        for title, item, done_on in DONE:
            action = await repo.create(org, unit, "equass", item, title, None, None, None, None)
            await repo.set_status(action.id, "done", done_on)
        ms, made = await median(args.runs, lambda: posters.you_said_we_did(org, None, "pdf"))
        print(f"you said, we did, pdf: {ms:.0f} ms ({len(made.content) // 1024} KiB)")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "poster-example.png"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, Path(folder) / "bench.db"))


if __name__ == "__main__":
    main()
