"""Moving an installation from one SQLite file to a PostgreSQL server, secret and all.

The service users' keyed hashes and the sealed reply routes only work with the
secret they were made under, so the secret file goes with the data: it is
checked before anything is copied and put in place after the data committed.
"""

from __future__ import annotations

from pathlib import Path

from storage.bulk_copy import CopyRefused, TableCount, copy_into
from storage.db import Database, dialect_of
from storage.secret import place_secret, read_secret
from storage.times import Clock


async def move_installation(
    source_file: Path,
    source_secret: Path,
    target_url: str,
    target_secret: Path,
    clock: Clock,
) -> tuple[list[TableCount], bool]:
    """Copy everything; the tables' counts (equal on both sides) and whether the secret was new.

    The source is migrated to this version's schema first (as any start would);
    the target must be an empty PostgreSQL database.
    """
    if dialect_of(target_url) != "postgresql":
        raise CopyRefused("the target must be a postgresql:// URL")
    secret = _secret_to_move(source_file, source_secret, target_secret)
    async with await Database.open(source_file, clock=clock) as source:
        version = await source.schema_version()
    async with await Database.open(target_url, clock=clock) as target:
        counts = await target.run(lambda conn: copy_into(conn, source_file, version))
    return counts, place_secret(secret, target_secret)


def _secret_to_move(source_file: Path, source_secret: Path, target_secret: Path) -> bytes:
    """The source's secret, once sure it can go where it is asked to."""
    if not source_file.is_file():
        raise CopyRefused(f"there is no database at {source_file}")
    secret = read_secret(source_secret)
    if target_secret.exists() and read_secret(target_secret) != secret:
        place_secret(secret, target_secret)  # refuses, naming the file
    return secret
