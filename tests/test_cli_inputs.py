"""Bad command-line input, every kind found so far: one line on the terminal, no traceback.

Each case is a class of mistake (a database that is not one, a broken link, a TOML
value of the wrong type, a number out of range, a target that is a directory); the
command must exit non-zero with a single line that names what is wrong, and change
nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli.main import main

HUGE = "9" * 25
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc"

Setup = Callable[[Path], dict[str, str]]


def database(content: bytes) -> Setup:
    def setup(tmp: Path) -> dict[str, str]:
        path = tmp / "not-a.db"
        path.write_bytes(content)
        return {"CARECHECK_DB": str(path), "CARECHECK_SECRET_FILE": str(tmp / "s")}

    return setup


def dangling_secret(tmp: Path) -> dict[str, str]:
    (tmp / "secret-link").symlink_to(tmp / "nowhere" / "secret")
    return {"CARECHECK_SECRET_FILE": str(tmp / "secret-link")}


def looping_database(tmp: Path) -> dict[str, str]:
    (tmp / "a.db").symlink_to(tmp / "b.db")
    (tmp / "b.db").symlink_to(tmp / "a.db")
    return {"CARECHECK_DB": str(tmp / "a.db")}


def toml(text: str) -> Setup:
    def setup(tmp: Path) -> dict[str, str]:
        (tmp / "c.toml").write_text(text)
        return {"CARECHECK_CONFIG": str(tmp / "c.toml")}

    return setup


def nothing(tmp: Path) -> dict[str, str]:
    return {}


def a_database(tmp: Path) -> dict[str, str]:
    sqlite3.connect(tmp / "carecheck.db").close()  # an empty SQLite file is a new database
    return {}


CASES: list[tuple[str, Setup, list[str], str]] = [
    ("a text file as the database", database(b"hello, I am text\n" * 50), ["org", "list"],
     "not a carecheck database"),
    ("random bytes as the database", database(os.urandom(4096)), ["org", "list"],
     "not a carecheck database"),
    ("/dev/null as the database", lambda tmp: {"CARECHECK_DB": "/dev/null"}, ["org", "list"],
     "not a regular file"),
    ("a database link in a loop", looping_database, ["org", "list"], "loop"),
    ("a dangling link as the secret", dangling_secret, ["console"], "link to nothing"),
    ("carecheck as a string", toml('carecheck = "x"\n'), ["org", "list"], "must be a table"),
    ("carecheck as an array", toml('carecheck = ["x"]\n'), ["org", "list"], "must be a table"),
    ("telegram as an array of tables", toml('[[telegram]]\ntoken = "x"\n'), ["org", "list"],
     "must be a table"),
    ("db as an array", toml('[carecheck]\ndb = ["a.db"]\n'), ["org", "list"], "carecheck.db"),
    ("db at the top level", toml('db = "a.db"\n'), ["org", "list"], "unknown setting 'db'"),
    ("a week before 2000", nothing, ["digest", "--org", "1", "--period", "0001-W01"],
     "2000 to 2100"),
    ("a week after 2100", nothing, ["digest", "--org", "1", "--period", "9999-W52"],
     "2000 to 2100"),
    ("a huge organisation id", nothing, ["invite", "create", "--org", HUGE, "--role", "staff"],
     "--org"),
    ("a huge unit id", nothing,
     ["invite", "create", "--org", "1", "--unit", HUGE, "--role", "staff"], "--unit"),
    ("a huge k", nothing, ["org", "create", "--name", "x", "--k", HUGE], "--k"),
    ("huge uses", nothing, ["invite", "create", "--org", "1", "--role", "staff", "--uses", HUGE],
     "--uses"),
    ("huge expiry", nothing,
     ["invite", "create", "--org", "1", "--role", "staff", "--expires-days", HUGE],
     "--expires-days"),
    ("a huge Telegram id", nothing, ["admin", "add", HUGE], "TELEGRAM_USER_ID"),
    ("a huge digest unit", nothing, ["digest", "--org", "1", "--unit", HUGE], "--unit"),
    ("a gap that is not a number", nothing, ["digest", "--org", "1", "--gap", "nan"], "--gap"),
    ("an unknown time zone", nothing, ["org", "create", "--name", "x", "--timezone", "Mars/Base"],
     "time zone"),
    ("a workbook onto a directory", nothing,
     ["export", "--format", "xlsx", "--out", "{tmp}"], "directory"),
    ("a backup onto a directory", a_database, ["backup", "{tmp}"], "directory"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "setup", "args", "fragment"), CASES, ids=[case[0] for case in CASES]
)
def test_bad_input_is_one_line(
    name: str,
    setup: Setup,
    args: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("CARECHECK_DB", "CARECHECK_SECRET_FILE", "CARECHECK_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "carecheck.db"))
    for variable, value in setup(tmp_path).items():
        monkeypatch.setenv(variable, value)
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code = main([arg.replace("{tmp}", str(tmp_path)) for arg in args])
    except SystemExit as exit_:  # argparse refuses before anything runs
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    assert code != 0, name
    assert "Traceback" not in out.err and "Traceback" not in out.out
    lines = [line for line in out.err.splitlines() if line.strip()]
    assert fragment in lines[-1], out.err
    assert all(line.startswith(("usage:", " ", "carecheck")) for line in lines), out.err
    if name.endswith("as the database"):
        # The file that is not a database is left as it was, and nothing is made beside it.
        assert sorted(p.name for p in tmp_path.iterdir()) == before


async def test_run_without_the_bot_api_says_so_and_keeps_trying(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CARECHECK_DB": str(tmp_path / "c.db"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",  # nothing listens there
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    first = await asyncio.wait_for(process.stderr.readline(), 30)
    process.send_signal(signal.SIGINT)
    rest = await asyncio.wait_for(process.stderr.read(), 30)
    assert await process.wait() == 0
    assert b"cannot reach the Bot API at http://127.0.0.1:9/bot" in first
    assert b"trying again" in first
    assert TOKEN.encode() not in first + rest
    assert b"Traceback" not in rest and b"Unclosed" not in rest
