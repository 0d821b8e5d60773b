"""carecheck org, unit, invite and admin: set-up from the terminal, with bad input as one line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli.main import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "c.db"))
    monkeypatch.setenv("CARECHECK_SECRET_FILE", str(tmp_path / "c.secret"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_org_unit_and_invites(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "org", "create", "--name", "Dom  Sonce", "--language", "sl", "--json"
    )
    assert code == 0
    org = json.loads(out)["id"]
    code, out, _ = run(capsys, "unit", "create", "--org", str(org), "--name", "Enota A", "--json")
    unit = json.loads(out)["id"]
    code, out, _ = run(
        capsys, "invite", "create", "--org", str(org), "--unit", str(unit), "--role", "staff",
        "--uses", "3", "--expires-days", "7", "--bot", "carecheck_test_bot", "--json",
    )  # fmt: skip
    invite = json.loads(out)
    assert invite["link"] == f"https://t.me/carecheck_test_bot?start={invite['code']}"
    assert len(invite["code"]) <= 64 and invite["code"].replace("-", "").replace("_", "").isalnum()
    poster = env / "poster.png"
    code, out, _ = run(
        capsys,
        "invite",
        "create",
        "--org",
        str(org),
        "--role",
        "service_user",
        "--qr",
        str(poster),
        "--bot",
        "carecheck_test_bot",
    )
    assert code == 0 and out.startswith("https://t.me/")
    assert poster.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run(capsys, "invite", "revoke", invite["code"])
    assert code == 0
    code, _, err = run(capsys, "invite", "revoke", invite["code"])
    assert code == 2 and "withdrawn already" in err
    code, out, _ = run(capsys, "org", "list", "--json")
    assert json.loads(out) == [
        {
            "id": org, "name": "Dom Sonce", "demo": False, "lens": "equass",
            "checkin": "Mon 09:00", "timezone": "Europe/Ljubljana", "language": "sl", "k": 5,
            "retention_months": 24, "gap": 0.75, "window": 8,
        }
    ]  # fmt: skip
    # Scores over 13 weeks from the window in progress: a Monday, not in the future.
    code, out, _ = run(capsys, "org", "window", "--org", str(org), "--weeks", "13")
    assert code == 0 and out.startswith("scores over 13 weeks from ")
    assert date.fromisoformat(out.split()[-1]).weekday() == 0
    code, _, err = run(capsys, "org", "window", "--org", str(org), "--weeks", "5")
    assert code == 2 and "one of (4, 8, 13, 26, 52)" in err and "Traceback" not in err
    assert run(capsys, "admin", "add", "123456")[1].strip() == "added"
    assert run(capsys, "admin", "add", "123456")[1].strip() == "already an administrator"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["invite", "create", "--org", "99", "--role", "staff", "--bot", "a_bot_of_ours"],
            "no organisation 99",
        ),
        (["unit", "create", "--org", "99", "--name", "X"], "no organisation 99"),
        (["org", "create", "--name", "X", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["org", "create", "--name", "   "], "1 to 120 characters"),
        (["org", "window", "--org", "99", "--weeks", "8"], "no organisation 99"),
    ],
)
def test_bad_values_are_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert fragment in err and err.count("\n") == 1


def test_a_unit_of_another_organisation_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = json.loads(run(capsys, "org", "create", "--name", "A", "--json")[1])["id"]
    second = json.loads(run(capsys, "org", "create", "--name", "B", "--json")[1])["id"]
    unit = json.loads(
        run(capsys, "unit", "create", "--org", str(first), "--name", "U", "--json")[1]
    )
    code, _, err = run(
        capsys,
        "invite",
        "create",
        "--org",
        str(second),
        "--unit",
        str(unit["id"]),
        "--role",
        "staff",
        "--bot",
        "a_bot_of_ours",
    )
    assert code == 2 and f"organisation {second} has no unit" in err
