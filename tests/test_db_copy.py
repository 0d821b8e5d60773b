"""`carecheck db copy`: a SQLite installation moved to PostgreSQL, all of it, checked.

The real command against a real PostgreSQL (tests/pgcluster.py): the demo's digests
agree number for number before and after, a check-in left mid-dialog goes on after
the move, and a service user is still recognised, because the secret went along.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import psycopg
import pytest

from bot.cli.main import main
from bot.infra.i18n import translator
from bot.services.digests.demo_data import create_demo
from bot.services.digests.digest_compute import compute_digest
from bot.services.onboarding import ALREADY_ANSWERED
from bot.services.script_registry import ScriptRegistry
from frameworks import default_frameworks
from storage.db import Database
from storage.secret import load_or_create_secret
from tests.demo_digests import NOW, differences
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness, button
from tests.test_bot_dialog import current, first_question, joined_staff
from tests.test_nothing_left_to_link import answer_everything
from tests.test_once_a_window import feedback

T = translator("en")


def copy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["db", "copy", *args])
    out, err = capsys.readouterr()
    return code, out, err


def counts_of(out: str) -> dict[str, int]:
    return {table: int(rows) for table, rows in (line.split() for line in out.splitlines())}


async def table_counts(location: str | Path) -> dict[str, int]:
    db = await Database.open(location, clock=lambda: NOW)
    try:
        if db.dialect == "postgresql":
            sql = (
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        names = [row["name"] for row in await db.fetchall(sql)]
        found = {}
        for name in names:
            row = await db.fetchone(f"SELECT count(*) AS n FROM {name}")
            assert row is not None
            found[name] = row["n"]
        return found
    finally:
        await db.close()


def make_demo(folder: Path) -> tuple[Path, int, int]:
    """Half a year of demo answers in a SQLite installation in `folder` (its database file
    and secret); the file, the organisation and its first unit."""
    path = folder / "carecheck.db"
    load_or_create_secret(folder / "carecheck.secret")

    async def fill() -> tuple[Path, int, int]:
        async with await Database.open(path, clock=lambda: NOW) as db:
            frameworks = default_frameworks()
            scripts = ScriptRegistry(db, frameworks)
            await scripts.ensure_shipped()
            demo = await create_demo(db, scripts, frameworks, today=NOW.date(), weeks=26)
            # A done action whose news went out: the copy must not queue it again.
            await db.execute(
                "UPDATE actions SET status = 'done' WHERE id = (SELECT min(id) FROM actions)"
            )
            return path, demo.org_id, demo.units[0][0]

    return asyncio.run(fill())


def digests(location: str | Path, org_id: int, unit_id: int) -> tuple[object, object]:
    async def compute() -> tuple[object, object]:
        async with await Database.open(location, clock=lambda: NOW) as db:
            frameworks = default_frameworks()
            return (
                await compute_digest(db, frameworks, org_id, now=NOW),
                await compute_digest(db, frameworks, org_id, unit_id, now=NOW),
            )

    return asyncio.run(compute())


def test_the_demo_moves_whole_and_its_digests_agree_number_for_number(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, org_id, unit_id = make_demo(tmp_path)
    target_secret = tmp_path / "pg" / "carecheck.secret"
    before = asyncio.run(table_counts(source))

    code, out, err = copy(capsys, str(source), pg_url, "--secret-file", str(target_secret))

    assert code == 0, err
    assert "every table's count is the same on both" in err
    assert counts_of(out) == before  # every table, with its count
    assert before["answers"] > 5_000 and before["actions"] > 0
    assert asyncio.run(table_counts(pg_url)) == before
    assert target_secret.read_bytes() == (tmp_path / "carecheck.secret").read_bytes()
    assert stat.S_IMODE(target_secret.stat().st_mode) == 0o600
    lite, pg = digests(source, org_id, unit_id), digests(pg_url, org_id, unit_id)
    assert differences(lite, pg) == []
    assert differences(lite[0], lite[1]) != []  # the comparison tells digests apart

    # New rows take new ids, after the copied ones.
    with psycopg.connect(pg_url) as conn:
        made = conn.execute(
            "INSERT INTO organisations (name, created_at) VALUES ('New', '2026-11-30T08:00:00Z') "
            "RETURNING id"
        ).fetchone()
        assert made is not None and made[0] > org_id


def test_a_second_copy_into_the_same_database_is_refused_and_changes_nothing(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_demo(tmp_path)[0]
    secret = str(tmp_path / "pg.secret")
    assert copy(capsys, str(source), pg_url, "--secret-file", secret)[0] == 0
    copied = asyncio.run(table_counts(pg_url))

    code, out, err = copy(capsys, str(source), pg_url, "--secret-file", secret)

    assert code == 2 and out == ""
    assert err.startswith("carecheck: the target already holds data")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert asyncio.run(table_counts(pg_url)) == copied


def test_bad_sources_targets_and_secrets_are_refused_before_anything_moves(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_demo(tmp_path)[0]
    other = tmp_path / "other.secret"
    other.write_bytes(b"\x01" * 32)
    cases = {
        "another installation's secret": (str(source), pg_url, "--secret-file", str(other)),
        "there is no database at": (str(tmp_path / "none.db"), pg_url, "--secret-file", "x"),
        "must be a postgresql:// URL": (str(source), str(tmp_path / "b.db"), "--secret-file", "x"),
        "there is no secret file at": (
            str(source),
            pg_url,
            "--secret-file",
            "x",
            "--source-secret",
            str(tmp_path / "no"),
        ),
    }
    for words, args in cases.items():
        code, out, err = copy(capsys, *args)
        assert code == 2 and out == "" and words in err and len(err.splitlines()) == 1, (words, err)
    assert other.read_bytes() == b"\x01" * 32
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b.db").exists()
    assert sum(asyncio.run(table_counts(pg_url)).values()) == 0


async def test_a_check_in_mid_dialog_goes_on_and_a_service_user_is_still_known_after_the_move(
    fake_api: FakeBotAPI, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    (tmp_path / "lite").mkdir()
    (tmp_path / "pg").mkdir()
    before = Harness(fake_api, tmp_path / "lite", clock)
    await before.start()
    try:
        org = await before.org()
        poster = await before.invite(org, "service_user")
        guest = before.user("Guest", "en")
        await answer_everything(before, guest, (await feedback(before, guest, poster)).message_id)
        staff = await joined_staff(before)
        question = await first_question(before, staff)
        await before.press(staff, question, button(question, "🙂"))
        assert "2/5" in current(before, staff, question).text
    finally:
        await before.stop()

    args = [str(tmp_path / "lite" / "carecheck.db"), pg_url]
    args += ["--secret-file", str(tmp_path / "pg" / "carecheck.secret")]
    code, _out, err = await asyncio.to_thread(copy, capsys, *args)
    assert code == 0, err

    after = Harness(fake_api, tmp_path / "pg", clock, database=pg_url)
    await after.start()
    try:
        for _ in range(4):
            screen = current(after, staff, question)
            await after.press(staff, screen, button(screen, "😀"))
        rows = await after.rt.db.fetchall(
            "SELECT score FROM answers WHERE question_id NOT LIKE 'su_%' ORDER BY id"
        )
        assert [r["score"] for r in rows] == [4.0, 5.0, 5.0, 5.0, 5.0]
        again = await after.command(guest, "/start", poster)
        assert again.text.startswith(T(ALREADY_ANSWERED).split("{day}")[0])
    finally:
        await after.stop()
    fake_api.assert_no_errors()
