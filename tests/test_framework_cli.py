"""`carecheck framework ...` against a database in a temporary directory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from dialogs import SHIPPED_SCRIPTS
from storage import Database, OrgRepo
from tests.fake_clock import FakeClock
from tests.own_framework_docs import VALUES, staff_variant, values, workbook

EXAMPLE = Path(__file__).parent.parent / "frameworks" / "examples"
STAFF = (SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "c.db"))
    monkeypatch.setenv("CARECHECK_SECRET_FILE", str(tmp_path / "c.secret"))
    monkeypatch.delenv("CARECHECK_CONFIG", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def org(capsys: pytest.CaptureFixture[str], name: str) -> str:
    code, out, _ = run(capsys, "org", "create", "--name", name, "--json")
    assert code == 0
    return str(json.loads(out)["id"])


def test_validate_yaml_workbook_and_errors(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "values.yaml").write_text(VALUES, encoding="utf-8")
    (home / "values.xlsx").write_bytes(workbook())
    (home / "broken.yaml").write_text(
        VALUES.replace("id: own-values", "id: values").replace("languages: [en, cs]", "x: 1"),
        encoding="utf-8",
    )
    example = str(EXAMPLE / "own-quality-areas.example.yaml")
    code, out, err = run(
        capsys, "framework", "validate", "values.yaml", "values.xlsx", example, "broken.yaml"
    )
    assert code == 1 and err.strip() == "1 of 4 files have errors"
    lines = out.splitlines()
    assert lines[:3] == [
        "values.yaml: ok (own-values, 2 items)",
        "values.xlsx: ok (own-values, 2 items)",
        f"{example}: ok (own-quality-areas, 7 items)",
    ]
    assert "broken.yaml:2: framework.id: must start with 'own-'" in out
    assert "broken.yaml:3: framework.x: unknown key" in out
    assert "broken.yaml:1: framework: missing key 'languages'" in out
    code, _, err = run(capsys, "framework", "validate", "missing.yaml")
    assert code == 2 and err.startswith("carecheck: cannot read missing.yaml")


def test_a_framework_file_as_a_workbook(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = str(EXAMPLE / "own-quality-areas.example.yaml")
    code, out, _ = run(capsys, "framework", "workbook", example, "--out", "areas.xlsx")
    assert code == 0 and out.startswith("wrote areas.xlsx")
    code, out, _ = run(capsys, "framework", "validate", "areas.xlsx")
    assert code == 0 and out.strip() == "areas.xlsx: ok (own-quality-areas, 7 items)"
    (home / "bad.yaml").write_text("framework: {}\n", encoding="utf-8")
    code, out, err = run(capsys, "framework", "workbook", "bad.yaml", "--out", "bad.xlsx")
    assert code == 1 and "missing key 'id'" in out and "no workbook written" in err
    assert not (home / "bad.xlsx").exists()


def test_publish_list_show_and_versions(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = org(capsys, "Dom Sonce"), org(capsys, "Other")
    (home / "v1.yaml").write_text(VALUES, encoding="utf-8")
    (home / "v2.yaml").write_text(values(dignity="Dignity above all"), encoding="utf-8")
    code, out, _ = run(capsys, "framework", "publish", "v1.yaml", "--org", first)
    assert code == 0 and out.strip() == f"published own-values version 1 (organisation {first})"
    code, out, _ = run(capsys, "framework", "publish", "v1.yaml", "--org", first)
    assert code == 0 and out.strip() == "own-values version 1 is already live; nothing changed"
    code, out, _ = run(capsys, "framework", "publish", "v2.yaml", "--org", first)
    assert code == 0 and "version 2" in out

    code, out, _ = run(capsys, "framework", "list", "--org", first, "--json")
    listed = json.loads(out)
    assert [(r["id"], r["version"], r["items"], r["title"]) for r in listed] == [
        ("own-values", 2, 2, "Our values at Dom Sonce")
    ]
    code, out, _ = run(capsys, "framework", "list", "--org", first)
    assert out.startswith("own-values  version 2  2 items  yaml  ")
    code, out, _ = run(capsys, "framework", "list", "--org", second, "--json")
    assert json.loads(out) == []  # the other organisation sees none of it

    code, out, _ = run(capsys, "framework", "show", "own-values", "--org", first)
    assert "Dignity above all" in out
    code, out, _ = run(capsys, "framework", "show", "own-values@1", "--org", first)
    assert out == VALUES
    code, _, err = run(capsys, "framework", "show", "own-values", "--org", second)
    assert code == 2 and "has no framework 'own-values'" in err
    code, _, err = run(capsys, "framework", "show", "own-values@x", "--org", first)
    assert code == 2 and "a version is a whole number" in err
    code, _, err = run(capsys, "framework", "show", "own-values@9", "--org", first)
    assert code == 2 and "has no version 9" in err
    code, _, err = run(capsys, "framework", "publish", "v1.yaml", "--org", "99")
    assert code == 2 and "no organisation 99" in err and "Traceback" not in err


def test_an_invalid_file_is_not_published(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = org(capsys, "Dom Sonce")
    (home / "bomb.yaml").write_bytes(b"framework:\n  id: &a own-x\n  name: *a\n")
    code, out, err = run(capsys, "framework", "publish", "bomb.yaml", "--org", first)
    assert code == 1 and "YAML anchors (&) are not allowed" in out
    assert err.strip() == "bomb.yaml: not published"
    code, out, _ = run(capsys, "framework", "list", "--org", first, "--json")
    assert json.loads(out) == []


def test_the_digest_reports_under_the_own_lens(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = org(capsys, "Dom Sonce"), org(capsys, "Other")
    (home / "v1.yaml").write_text(VALUES, encoding="utf-8")
    assert run(capsys, "framework", "publish", "v1.yaml", "--org", first)[0] == 0

    async def choose() -> None:
        # What `carecheck org set --lens` does (another branch's command); here, directly.
        db = await Database.open(home / "c.db", clock=FakeClock())
        try:
            await OrgRepo(db).update_settings(int(first), lens="own-values")
        finally:
            await db.close()

    asyncio.run(choose())
    code, out, _ = run(capsys, "digest", "--org", first)
    assert code == 0 and "Our values at Dom Sonce" in out
    code, out, _ = run(capsys, "digest", "--org", first, "--format", "html")
    assert code == 0 and "Our values at Dom Sonce" in out
    code, out, _ = run(capsys, "digest", "--org", second)
    assert code == 0 and "Our values" not in out
    code, _, err = run(capsys, "digest", "--org", second, "--lens", "own-values")
    assert code == 2 and "unknown lens 'own-values'" in err


def test_a_variant_is_validated_against_its_organisations_frameworks(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = org(capsys, "Dom Sonce"), org(capsys, "Other")
    (home / "v1.yaml").write_text(VALUES, encoding="utf-8")
    assert run(capsys, "framework", "publish", "v1.yaml", "--org", first)[0] == 0
    (home / "staff.yaml").write_text(staff_variant(STAFF), encoding="utf-8")
    code, out, _ = run(capsys, "script", "validate", "staff.yaml", "--org", first)
    assert code == 0 and out.startswith("staff.yaml: ok (staff-pulse,")
    for scope in ((), ("--org", second)):
        code, out, _ = run(capsys, "script", "validate", "staff.yaml", *scope)
        assert code == 1 and "unknown framework 'own-values'" in out
    code, out, _ = run(capsys, "script", "publish", "staff.yaml", "--org", first)
    assert code == 0 and "published staff-pulse version 1 (organisation " in out
    code, _, err = run(capsys, "script", "validate", "staff.yaml", "--org", "99")
    assert code == 2 and "no organisation 99" in err
