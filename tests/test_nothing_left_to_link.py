"""Nothing left in the database's bytes that links finished feedback to a person.

Whoever holds the database files and the secret can compute a Telegram account's
keyed hash. While feedback is open it must be findable under that hash (to resume);
once it is finished, or forgotten, the hash must be gone from the database file, its
write-ahead log and its shared-memory file, not only from the rows: deleted values
survive in free pages and in the log unless they are zeroed and the log truncated.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.infra.i18n import translator
from bot.services.retention import purge_comments
from tests.fakebotapi.models import User
from tests.harness import Harness, button

T = translator("en")


def raw_bytes(bot: Harness) -> bytes:
    """The database as a file reader sees it: the file, its log and its index.

    On PostgreSQL (CARECHECK_TEST_BACKEND=postgresql) there is no file of its own, and
    no secure_delete: deleted rows stay in the server's pages and WAL until reused.
    There only every stored row is read; this module's own tests run on SQLite alone.
    """
    if bot.settings.db_path is None:
        return _pg_rows(bot.settings.database)
    path = Path(bot.settings.db_path)
    found = b""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            found += part.read_bytes()
    return found


async def feedback_screen(bot: Harness, guest: User, poster: str) -> int:
    await bot.command(guest, "/start", poster)
    question = await bot.settle(
        lambda: next((m for m in bot.api.messages(guest.id) if "1/" in (m.text or "")), None)
    )
    return question.message_id


async def answer_everything(bot: Harness, guest: User, message_id: int) -> None:
    for _ in range(12):
        screen = bot.api.message(guest.id, message_id)
        if not screen.buttons:
            return
        labels = [b["text"] for row in screen.buttons for b in row]
        choice = "🙂" if any(label.startswith("🙂") for label in labels) else T("Skip ▶")
        await bot.press(guest, screen, button(screen, choice))
    raise AssertionError("the feedback did not finish")


async def test_finished_feedback_leaves_no_key(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Guest", "en")  # Telegram's language is ours: no choice is stored
    key = bot.rt.identities.key(guest.id).encode()
    message_id = await feedback_screen(bot, guest, poster)
    assert key in raw_bytes(bot)  # open: findable, to resume (and the search can see it)
    # A checkpoint while it is open puts the key into the database file itself, as a
    # long-open session would be after SQLite's own checkpoints.
    await bot.rt.db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
    await answer_everything(bot, guest, message_id)
    row = await bot.rt.db.fetchone("SELECT status, respondent_key FROM sessions")
    assert row is not None and row["status"] == "done" and row["respondent_key"] is None
    assert key not in raw_bytes(bot)


async def test_forgotten_feedback_and_language_leave_no_key(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Gast", None)  # no language from Telegram: they choose one
    key = bot.rt.identities.key(guest.id).encode()
    chooser = await bot.command(guest, "/start", poster)
    await bot.press(guest, chooser, button(chooser, "Deutsch"))
    await bot.settle(
        lambda: next((m for m in bot.api.messages(guest.id) if "1/" in (m.text or "")), None)
    )
    assert key in raw_bytes(bot)
    question = await bot.command(guest, "/forget")
    await bot.press(guest, question, button(question, translator("de")("Yes, delete")))
    assert await bot.rt.db.fetchall("SELECT 1 FROM respondent_prefs") == []
    assert key not in raw_bytes(bot)


async def test_comments_past_retention_leave_the_files(bot: Harness) -> None:
    org = await bot.org()
    poster = await bot.invite(org, "service_user")
    guest = bot.user("Guest", "en")
    message_id = await feedback_screen(bot, guest, poster)
    for _ in range(12):
        screen = bot.api.message(guest.id, message_id)
        if "Type your answer" in (screen.text or ""):
            await bot.text(guest, "Ana on the night shift was unkind to me")
            break
        pick = "💡" if "💡" in "".join(screen.button_texts) else "🙂"  # the open question
        await bot.press(guest, screen, button(screen, pick))
    assert b"unkind to me" in raw_bytes(bot)
    bot.clock.advance(days=366 * 3)
    assert await purge_comments(bot.rt.db, bot.clock()) == 1
    assert b"unkind to me" not in raw_bytes(bot)


def _pg_rows(url: str) -> bytes:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        return "\n".join(
            repr(row) for (table,) in tables for row in conn.execute(f"SELECT * FROM {table}")
        ).encode()
