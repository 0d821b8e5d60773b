"""The terminal console, piped, in every language; the CSV export of what it stored."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.infra.i18n import LANGUAGES, translator
from bot.services.onboarding import ALREADY_ANSWERED


def carecheck(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "CARECHECK_DB": str(tmp_path / "c.db"),
        "CARECHECK_SECRET_FILE": str(tmp_path / "c.secret"),
        "PATH": "/usr/bin:/bin",
        # The checkout under test, not whichever one the environment installed.
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def export_rows(tmp_path: Path) -> list[dict[str, str]]:
    result = carecheck(tmp_path, "export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_piped_staff_check_in_is_stored_and_exported(tmp_path: Path, language: str) -> None:
    t = translator(language)
    result = carecheck(
        tmp_path, "console", "--lang", language, stdin="4\n5\n1\nmore breaks\n3\nn\n"
    )
    assert result.returncode == 0, result.stderr
    assert "[1/5]" in result.stdout and "[5/5]" in result.stdout
    assert t("Type a number.") in result.stdout
    rows = export_rows(tmp_path)
    assert [r["value"] for r in rows] == ["4", "5", "1", "3", ""]
    assert [r["not_applicable"] for r in rows] == ["0", "0", "0", "0", "1"]
    assert rows[2]["text"] == "more breaks"
    # A comment, but no way to reply in a terminal: said, and no route is kept.
    assert t("Anonymous replies to comments work on Telegram only; none is kept.") in result.stdout
    assert {r["script"] for r in rows} == {"staff-pulse"}
    assert all(r["framework_items"].count("equass:") >= 1 for r in rows)


def test_pause_then_resume_at_the_right_question(tmp_path: Path) -> None:
    first = carecheck(tmp_path, "console", "--lang", "sl", stdin="4\n5\np\n")
    assert translator("sl")("Paused. Run the same command again to continue.") in first.stdout
    second = carecheck(tmp_path, "console", "--lang", "sl", stdin="3\n3\n3\n")
    assert translator("sl")("Welcome back: continuing where you left off.") in second.stdout
    assert "[3/5]" in second.stdout and "[1/5]" not in second.stdout
    assert [r["value"] for r in export_rows(tmp_path)] == ["4", "5", "3", "3", "3"]


def test_end_of_input_pauses_too(tmp_path: Path) -> None:
    carecheck(tmp_path, "console", stdin="2\n\n")  # a low answer, its comment left empty
    again = carecheck(tmp_path, "console", stdin="")
    assert "[2/5]" in again.stdout


def test_bad_input_is_explained_and_asked_again(tmp_path: Path) -> None:
    t = translator("de")
    result = carecheck(tmp_path, "console", "--lang", "de", stdin="x\n9\n0\nb\n4\n")
    assert t("Please type a number.") in result.stdout
    assert t("Please choose a number from {low} to {high}.", low=1, high=5) in result.stdout
    assert t("This is the first question.") in result.stdout
    assert [r["value"] for r in export_rows(tmp_path)] == ["4"]


def test_service_user_feedback_and_once_a_week(tmp_path: Path) -> None:
    feedback = "5\n4\n4\n5\n3\n4\n4\n2\nMehr Ausflüge\n"  # 7 answers, "do better", text
    first = carecheck(
        tmp_path, "console", "--script", "service-user", "--lang", "de", stdin=feedback
    )
    assert first.returncode == 0, first.stderr
    rows = export_rows(tmp_path)
    assert len(rows) == 9 and rows[-1]["text"] == "Mehr Ausflüge"
    assert [r["question"] for r in rows[-2:]] == ["su_tell", "su_better"]
    assert {r["audience"] for r in rows} == {"service_user"}
    second = carecheck(tmp_path, "console", "--script", "service-user", stdin=feedback)
    # Once a window; the day it ends is the machine's (the console runs on its clock).
    refused, _day = translator("en")(ALREADY_ANSWERED).split("{day}")
    assert refused in second.stdout


def test_formulas_are_neutralised_in_the_export(tmp_path: Path) -> None:
    carecheck(tmp_path, "console", stdin='1\n=HYPERLINK("http://x")\n')
    rows = export_rows(tmp_path)
    assert rows[0]["text"] == '\'=HYPERLINK("http://x")'


def test_unknown_script_and_bad_arguments(tmp_path: Path) -> None:
    unknown = carecheck(tmp_path, "console", "--script", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("carecheck: unknown script 'nope'")
    assert "Traceback" not in unknown.stderr
    bad_since = carecheck(tmp_path, "export", "--since", "yesterday")
    assert bad_since.returncode == 2 and "Traceback" not in bad_since.stderr


@pytest.mark.parametrize("language", ["sl", "lt"])
def test_not_safe_in_the_console_shows_the_help_text(tmp_path: Path, language: str) -> None:
    from bot.services.safeguarding import DEFAULT_HELP

    feedback = "5\n5\n5\n1\n5\n5\n5\n3\n"  # "Do you feel safe here?" answered "No"
    result = carecheck(
        tmp_path, "console", "--script", "service-user", "--lang", language, stdin=feedback
    )
    assert result.returncode == 0, result.stderr
    t = translator(language)
    assert result.stdout.count(t(DEFAULT_HELP)) == 1 and "112" in result.stdout
    assert t("🤝 You can get help") in result.stdout
