"""`carecheck demo`: a labelled demo organisation, the same answers for the same seed."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.infra.config import load_settings
from bot.services.digests.demo_data import create_demo
from bot.services.digests.digest_compute import compute_digest
from bot.services.runtime import Runtime, open_runtime
from storage.orgs import OrgRepo
from tests.fake_clock import FakeClock
from tests.test_digest import NOW, TODAY

CLOCK = FakeClock()

ANSWERS = (
    "SELECT a.period, a.audience, a.question_id, a.score, a.comment, a.skipped,"
    " a.not_applicable, a.answered_on FROM answers a WHERE a.org_id = ? ORDER BY a.id"
)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


async def answers(runtime: Runtime, org_id: int) -> list[tuple[object, ...]]:
    def read(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
        return [tuple(row) for row in conn.execute(ANSWERS, (org_id,))]

    return await runtime.db.run(read)


async def test_the_same_seed_gives_the_same_answers(runtime: Runtime) -> None:
    first = await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=3)
    second = await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=3)
    other = await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=4)
    assert first.org_id != second.org_id
    assert await answers(runtime, first.org_id) == await answers(runtime, second.org_id)
    assert await answers(runtime, first.org_id) != await answers(runtime, other.org_id)


async def test_the_demo_is_labelled_and_realistic(runtime: Runtime) -> None:
    result = await create_demo(
        runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, name="Sunny Side",
        weeks=12, staff=40, users=200, language="sl",
    )  # fmt: skip
    org = await OrgRepo(runtime.db).get_org(result.org_id)
    assert org is not None and org.is_demo and "Demo" in org.name
    assert (org.language, org.lens) == ("sl", "equass")
    assert [u.name for u in await OrgRepo(runtime.db).list_units(result.org_id)] == sorted(
        name for _id, name in result.units
    )
    assert (result.first_period, result.last_period) == ("2026-W36", "2026-W47")

    def facts(conn: sqlite3.Connection) -> dict[str, object]:
        one = lambda sql: conn.execute(sql, (result.org_id,)).fetchone()[0]  # noqa: E731
        return {
            "weeks": one("SELECT count(DISTINCT period) FROM answers WHERE org_id = ?"),
            "telegram_ids": one(
                "SELECT max(p.telegram_id) FROM people p JOIN memberships m"
                " ON m.person_id = p.id WHERE m.org_id = ?"
            ),
            "staff_questions": one(
                "SELECT count(DISTINCT question_id) FROM answers WHERE org_id = ?"
                " AND audience = 'staff'"
            ),
            "comments": one(
                "SELECT count(*) FROM answers WHERE org_id = ? AND comment IS NOT NULL"
            ),
            "phone": one(
                "SELECT count(*) FROM answers WHERE org_id = ? AND comment LIKE '%041 555 123%'"
            ),
        }

    found = await runtime.db.run(facts)
    assert found["weeks"] == 12
    assert found["telegram_ids"] < 0  # never a real person's Telegram id  # type: ignore[operator]
    assert found["staff_questions"] == 40  # every statement of the shipped staff pulse
    assert found["comments"] > 50  # type: ignore[operator]
    assert found["phone"] > 0  # type: ignore[operator]
    # ...which the digest scrubs, in Slovenian.
    digest = await compute_digest(runtime.db, runtime.frameworks, result.org_id, now=NOW)
    assert all("555" not in c.text for c in digest.comments)
    assert any(c.audience == "staff" for c in digest.comments)
    assert {a.kind for a in digest.actions} == {"overdue", "due_soon", "open", "done"}


async def test_the_story_shows_in_the_digests(runtime: Runtime) -> None:
    result = await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY)
    early = await compute_digest(runtime.db, runtime.frameworks, result.org_id, None, "2026-W37")
    late = await compute_digest(runtime.db, runtime.frameworks, result.org_id, None, "2026-W47")
    users = "service_users"
    early_say = getattr(early.item("participation"), users).mean
    late_say = getattr(late.item("participation"), users).mean
    assert late_say > early_say + 0.3  # participation improves week by week
    assert "rights" in late.gaps  # staff see rights far more rosily than service users
    [done] = late.actions_of("done")
    assert done.item_id == "participation" and done.change is not None and done.change > 0


@pytest.mark.parametrize("lens", ["cz-sqss", "eqalin"])
async def test_the_demo_works_under_other_lenses(runtime: Runtime, lens: str) -> None:
    result = await create_demo(
        runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, lens=lens, weeks=10
    )
    digest = await compute_digest(runtime.db, runtime.frameworks, result.org_id, now=NOW)
    assert digest.lens == lens
    assert {a.framework for a in digest.actions} == {lens}
    assert sum(i.staff.shown for i in digest.items) >= len(digest.items) // 2


async def test_every_unit_has_staff_scores_in_the_default_window(runtime: Runtime) -> None:
    """The shipped demo shows what a window gives a unit manager: scores with n and ±."""
    result = await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY)
    whole = await compute_digest(runtime.db, runtime.frameworks, result.org_id, now=NOW)
    assert len(whole.items) == 10
    assert all(item.staff.shown for item in whole.items)
    for unit_id, _name in result.units:
        digest = await compute_digest(
            runtime.db, runtime.frameworks, result.org_id, unit_id, now=NOW
        )
        shown = [item.staff.figure for item in digest.items if item.staff.shown]
        assert len(shown) >= 8, (unit_id, len(shown))
        assert all(f is not None and f.n >= 5 for f in shown), shown


def test_the_command_prints_the_next_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "cli.db"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--weeks", "2", "--staff", "6", "--users", "20", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "Demo organisation 1: Demo Care Home (marked as demo data)" in out
    assert "Next: carecheck digest --org 1" in out
    assert main(["demo", "--weeks", "2", "--staff", "6", "--users", "20", "--quiet"]) == 0
    assert capsys.readouterr().out == "2\n"  # the README's quick start reads this number

    assert main(["digest", "--org", "1"]) == 0
    assert "Demo Care Home" in capsys.readouterr().out
    assert main(["digest", "--org", "1", "--format", "json", "--out", "d.json"]) == 0
    assert (tmp_path / "d.json").read_text().startswith("{")
    assert main(["digest", "--org", "1", "--format", "png", "--out", "c.png"]) == 0
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")

    for argv, message in [
        (["digest", "--org", "7"], "carecheck: there is no organisation 7"),
        (["digest", "--org", "1", "--unit", "99"], "carecheck: organisation 1 has no unit 99"),
        (["digest", "--org", "1", "--period", "2026-47"], "is not a week like 2026-W47"),
        (["digest", "--org", "1", "--format", "png"], "give --out FILE"),
        (["demo", "--weeks", "500"], "--weeks is at most 104"),
    ]:
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1
