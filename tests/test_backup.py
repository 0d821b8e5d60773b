"""`carecheck backup FILE` while the bot is answering people, and a restore from the copy."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from bot.infra.config import Settings
from bot.infra.i18n import translator
from bot.services.onboarding import ALREADY_ANSWERED
from tests.crowd import ROOT, Catalogue, Crowd, audit, inconsistencies, populate
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import FakeClock, Harness


async def carecheck(settings: Settings, *args: str) -> tuple[int, str]:
    """Run the CLI in its own process, as an operator would next to the running bot."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CARECHECK_DB": settings.database,
        "CARECHECK_SECRET_FILE": str(settings.secret_file),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=settings.secret_file.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def answers(path: Path) -> dict[tuple[int, str], tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT session_id, question_id, score, value_num, comment FROM answers"
        ).fetchall()
    finally:
        conn.close()
    return {(r[0], r[1]): r[2:] for r in rows}


async def test_a_backup_taken_while_people_answer_is_consistent(
    bot: Harness, tmp_path: Path
) -> None:
    people = await populate(bot.settings.db_path, bot.api, staff=12, service_users=8, seed=3)
    catalogue = Catalogue.load()
    crowd = Crowd(bot.api, people, catalogue, think=(0.0, 0.05), seed=3)
    answering = asyncio.create_task(crowd.run())
    await bot.api.wait_for(lambda: crowd.acknowledged >= 15 or answering.done(), 30)
    acknowledged = {(a.session, a.question) for p in people for a in p.acks}
    target = tmp_path / "copy.db"
    code, said = await carecheck(bot.settings, "backup", str(target))
    await answering

    assert code == 0, said
    assert "answers in" in said
    copy = answers(target)
    assert acknowledged <= set(copy)  # everything accepted before the backup began
    assert set(copy) <= set(answers(bot.settings.db_path))
    assert inconsistencies(target, catalogue) == []  # one moment: no step half-copied


async def test_restoring_the_backup_finds_every_answer(
    bot: Harness, fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    people = await populate(bot.settings.db_path, bot.api, staff=6, service_users=4, seed=4)
    catalogue = Catalogue.load()
    await Crowd(bot.api, people, catalogue, think=(0.0, 0.02), seed=4).run()
    target = tmp_path / "copy.db"
    code, said = await carecheck(bot.settings, "backup", str(target))
    assert code == 0, said
    await bot.stop()

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(target, restored / "carecheck.db")
    shutil.copy(bot.settings.secret_file, restored / "carecheck.secret")
    result = audit(restored / "carecheck.db", people, catalogue)
    assert result.problems == []
    assert result.acknowledged == result.stored > 0
    assert answers(restored / "carecheck.db") == answers(bot.settings.db_path)

    # The bot runs on the restored copy: a service user who answered is still known.
    again = Harness(fake_api, restored, FakeClock())
    await again.start()
    try:
        guest = next(p for p in people if p.audience == "service_user")
        reply = await again.command(guest.user, "/start", guest.code)
        assert reply.text == translator("en")(ALREADY_ANSWERED, day="28 Dec 2026")
    finally:
        await again.stop()


async def test_backup_refuses_what_it_cannot_do(tmp_path: Path, bot: Harness) -> None:
    settings = bot.settings
    code, said = await carecheck(settings, "backup", str(tmp_path))
    assert (code, said.strip()) == (2, f"carecheck: {tmp_path} is a directory; give a file name")
    code, said = await carecheck(settings, "backup", str(settings.db_path))
    assert code == 2
    assert "cannot overwrite" in said
    missing = Settings(
        db_path=tmp_path / "x.db",
        secret_file=tmp_path / "x.secret",
        token=None,
        api_url="",
        file_url="",
    )
    code, said = await carecheck(missing, "backup", str(tmp_path / "copy.db"))
    assert (code, said.strip()) == (2, f"carecheck: there is no database at {tmp_path / 'x.db'}")
    assert not (tmp_path / "x.db").exists()


async def test_backup_of_postgresql_points_to_pg_dump(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(
        db_path=None,
        db_url=pg_url,
        secret_file=tmp_path / "x.secret",
        token=None,
        api_url="",
        file_url="",
    )
    code, said = await carecheck(settings, "backup", str(tmp_path / "copy.db"))
    assert (code, said.strip()) == (
        2,
        "carecheck: carecheck backup copies a SQLite file; back PostgreSQL up with pg_dump",
    )
    assert not (tmp_path / "copy.db").exists()
