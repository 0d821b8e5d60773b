"""carecheck org show|list|set, unit list|rename|archive, invite list|revoke, people,
admin list|remove: every setting and its bad values, and every `--json` shape."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.services.digests.digest_compute import DEFAULT_GAP
from frameworks import default_frameworks
from tests.test_org_cli import env, run

__all__ = ["env"]  # the fixture, shared with test_org_cli

LENSES = ["cz-sqss", "eqalin", "equass-revised", "equass"]
ORG_KEYS = {
    "id", "name", "demo", "lens", "checkin", "timezone", "language", "k",
    "retention_months", "gap", "window",
}  # fmt: skip


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def sql(env: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(env / "c.db") as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def org(env: Path, capsys: pytest.CaptureFixture[str]) -> int:
    made = as_json(capsys, "org", "create", "--name", "Dom Sonce", "--language", "cs")
    return int(made["id"])


def test_show_and_list_have_stable_keys(org: int, capsys: pytest.CaptureFixture[str]) -> None:
    shown = as_json(capsys, "org", "show", str(org))
    assert set(shown) == ORG_KEYS | {"lenses"}
    assert shown == {
        "id": org, "name": "Dom Sonce", "demo": False, "lens": "equass", "checkin": "Mon 09:00",
        "timezone": "Europe/Ljubljana", "language": "cs", "k": 5, "retention_months": 24,
        "gap": DEFAULT_GAP, "window": 8, "lenses": LENSES,
    }  # fmt: skip
    listed = as_json(capsys, "org", "list")
    assert [set(o) for o in listed] == [ORG_KEYS]
    code, out, _ = run(capsys, "org", "show", str(org))
    assert code == 0 and "lens\tequass" in out and "checkin\tMon 09:00" in out


def test_every_setting_changes(org: int, capsys: pytest.CaptureFixture[str]) -> None:
    changed = as_json(
        capsys, "org", "set", str(org), "--name", "Dom  Luna", "--lens", "cz-sqss",
        "--checkin", "thu 17:00", "--timezone", "Europe/Prague", "--language", "de",
        "--k", "7", "--retention-months", "36", "--gap", "0.5", "--window", "13",
    )  # fmt: skip
    assert changed == {
        "id": org, "name": "Dom Luna", "demo": False, "lens": "cz-sqss", "checkin": "Thu 17:00",
        "timezone": "Europe/Prague", "language": "de", "k": 7, "retention_months": 36,
        "gap": 0.5, "window": 13,
    }  # fmt: skip
    assert as_json(capsys, "org", "show", str(org))["window"] == 13
    # One at a time, the others kept.
    assert as_json(capsys, "org", "set", str(org), "--k", "3")["lens"] == "cz-sqss"
    assert as_json(capsys, "org", "set", str(org), "--checkin", "Sun 00:00")["checkin"] == (
        "Sun 00:00"
    )
    code, out, _ = run(capsys, "org", "set", str(org), "--gap", "2")
    assert code == 0 and "gap\t2.0" in out


BAD = [
    (["--k", "2"], "--k", "at least 3"),
    (["--k", "0"], "--k", "from 3 to 1000"),
    (["--k", "many"], "--k", "from 3 to 1000"),
    (["--k", "9" * 50], "--k", "from 3 to 1000"),
    (["--timezone", "Mars/Olympus"], "--timezone", "time zone"),
    (["--timezone", "Europe"], "--timezone", "time zone"),
    (["--timezone", "x" * 5000], "--timezone", "time zone"),
    (["--timezone", "../../etc/passwd"], "--timezone", "time zone"),
    (["--lens", "kqs"], "--lens", "cannot report under"),
    (["--lens", ""], "--lens", "cannot report under"),
    (["--checkin", "Mon 09:30"], "--checkin", "whole hour"),
    (["--checkin", "Monday 09:00"], "--checkin", "weekday"),
    (["--checkin", "Mon 24:00"], "--checkin", "whole hour"),
    (["--checkin", "7 09:00"], "--checkin", "weekday"),
    (["--checkin", ""], "--checkin", "weekday"),
    (["--window", "5"], "--window", "4, 8, 13, 26 or 52"),
    (["--window", "eight"], "--window", "4, 8, 13, 26 or 52"),
    (["--retention-months", "0"], "--retention-months", "1 to 120"),
    (["--retention-months", "121"], "--retention-months", "1 to 120"),
    (["--gap", "0.05"], "--gap", "0.1 to 2.0"),
    (["--gap", "2.5"], "--gap", "0.1 to 2.0"),
    (["--gap", "nan"], "--gap", "0.1 to 2.0"),
    (["--gap", "inf"], "--gap", "0.1 to 2.0"),
    (["--language", "fr"], "--language", "en, sl, de, cs, lt"),
    (["--name", "   "], "--name", "1 to 120"),
]


@pytest.mark.parametrize(("bad", "option", "fragment"), BAD)
def test_a_bad_value_changes_nothing(
    org: int,
    env: Path,
    capsys: pytest.CaptureFixture[str],
    bad: list[str],
    option: str,
    fragment: str,
) -> None:
    if fragment == "at least 3":
        fragment = "from 3 to 1000"
    before = sql(env, "SELECT * FROM organisations")
    plans = sql(env, "SELECT * FROM window_plans")
    # Valid values given with the bad one are not stored either.
    code, out, err = run(
        capsys, "org", "set", str(org), "--lens", "cz-sqss", "--window", "26", "--k", "6", *bad
    )
    assert code == 2 and out == ""
    assert err.startswith(f"carecheck: {option}: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sql(env, "SELECT * FROM organisations") == before
    assert sql(env, "SELECT * FROM window_plans") == plans


def test_set_needs_something_and_an_organisation(
    org: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "org", "set", str(org))
    assert code == 2 and "nothing to change" in err
    code, _, err = run(capsys, "org", "set", "99", "--k", "5")
    assert code == 2 and "no organisation 99" in err
    code, _, err = run(capsys, "org", "show", "99")
    assert code == 2 and "no organisation 99" in err


def test_the_gap_is_the_organisations_in_every_digest(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The migration's default is the digest's former constant.
    org = as_json(capsys, "org", "create", "--name", "A")["id"]
    assert sql(env, "SELECT gap_threshold FROM organisations") == [(DEFAULT_GAP,)]
    run(capsys, "org", "set", str(org), "--gap", "1.5")
    code, out, _ = run(capsys, "digest", "--org", str(org), "--format", "json")
    assert code == 0 and json.loads(out)["gap_threshold"] == 1.5
    code, out, _ = run(capsys, "digest", "--org", str(org), "--format", "json", "--gap", "0.3")
    assert json.loads(out)["gap_threshold"] == 0.3  # --gap still overrides it for one digest


def test_the_lens_set_is_the_next_digests(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Done when: `org set 1 --lens cz-sqss` makes the next `digest --org 1` Czech."""
    assert run(capsys, "demo", "--weeks", "10", "--staff", "8", "--users", "20")[0] == 0
    before = json.loads(run(capsys, "digest", "--org", "1", "--format", "json")[1])
    assert before["lens"] == "equass"
    assert as_json(capsys, "org", "set", "1", "--lens", "cz-sqss")["lens"] == "cz-sqss"
    after = json.loads(run(capsys, "digest", "--org", "1", "--format", "json")[1])
    assert after["lens"] == "cz-sqss"
    czech = set(default_frameworks().get("cz-sqss").items)
    assert {item["item_id"] for item in after["items"]} == czech
    code, text, _ = run(capsys, "digest", "--org", "1")
    assert code == 0 and "Czech standards of quality of social services" in text


def test_units_list_rename_and_archive(
    org: int, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ward = as_json(capsys, "unit", "create", "--org", str(org), "--name", "Ward A")["id"]
    other = as_json(capsys, "unit", "create", "--org", str(org), "--name", "Ward B")["id"]
    assert as_json(capsys, "unit", "list", "--org", str(org)) == [
        {"id": ward, "org": org, "name": "Ward A", "archived_on": None},
        {"id": other, "org": org, "name": "Ward B", "archived_on": None},
    ]
    renamed = as_json(capsys, "unit", "rename", str(ward), "--name", " Ward  C ")
    assert renamed == {"id": ward, "org": org, "name": "Ward C", "archived_on": None}
    code, _, err = run(capsys, "unit", "rename", str(ward), "--name", "Ward B")
    assert code == 2 and "a unit named 'Ward B'" in err
    code, _, err = run(capsys, "unit", "rename", "99", "--name", "X")
    assert code == 2 and "no unit 99" in err

    # People and links of the unit: a staff member, a unit manager, a link.
    invite_to_ward = ["invite", "create", "--org", str(org), "--unit", str(ward), "--role",
                      "staff", "--bot", "carecheck_test_bot"]  # fmt: skip
    link = as_json(capsys, *invite_to_ward)["code"]
    add_person(env, 501, org, "staff", unit=ward)
    add_person(env, 502, org, "manager", unit=ward)
    archived = as_json(capsys, "unit", "archive", str(ward))
    assert archived == {
        "id": ward, "org": org, "invites_revoked": 1, "staff_moved": 1, "roles_ended": 1
    }  # fmt: skip
    units = as_json(capsys, "unit", "list", "--org", str(org))
    assert units[0]["name"] == "Ward B" and units[0]["archived_on"] is None
    assert units[1]["id"] == ward and units[1]["archived_on"] is not None
    # The staff member is now of the whole organisation; the unit manager's role ended.
    assert sql(env, "SELECT person_id, unit_id, role FROM memberships") == [(1, None, "staff")]
    invites = as_json(capsys, "invite", "list", "--org", str(org))
    assert invites[0]["code"] == link and invites[0]["revoked_at"] is not None
    code, _, err = run(capsys, *invite_to_ward)
    assert code == 2 and "archived" in err
    code, _, err = run(capsys, "unit", "archive", str(ward))
    assert code == 2 and "archived already" in err


def add_person(env: Path, telegram_id: int, org: int, *roles: str, unit: int | None = None) -> None:
    """A person with these roles, as joining by a link would store them."""
    with sqlite3.connect(env / "c.db") as conn:
        conn.execute(
            "INSERT OR IGNORE INTO people (telegram_id, created_at) VALUES (?, ?)",
            (telegram_id, "2026-01-01T00:00:00Z"),
        )
        for role in roles:
            conn.execute(
                "INSERT INTO memberships (person_id, org_id, unit_id, role)"
                " SELECT id, ?, ?, ? FROM people WHERE telegram_id = ?",
                (org, unit, role, telegram_id),
            )


def test_invite_list_and_revoke(org: int, capsys: pytest.CaptureFixture[str]) -> None:
    made = as_json(
        capsys, "invite", "create", "--org", str(org), "--role", "staff", "--uses", "3",
        "--expires-days", "7", "--bot", "a_bot_of_ours",
    )  # fmt: skip
    listed = as_json(capsys, "invite", "list", "--org", str(org))
    assert len(listed) == 1
    invite = listed[0]
    assert set(invite) == {
        "code", "org", "unit", "role", "uses", "max_uses", "expires_at", "revoked_at",
        "created_at",
    }  # fmt: skip
    assert (invite["code"], invite["role"], invite["uses"], invite["max_uses"]) == (
        made["code"], "staff", 0, 3
    )  # fmt: skip
    assert invite["expires_at"].endswith("Z") and invite["revoked_at"] is None
    assert as_json(capsys, "invite", "revoke", made["code"]) == {
        "code": made["code"],
        "revoked": True,
    }
    assert as_json(capsys, "invite", "list", "--org", str(org))[0]["revoked_at"] is not None
    code, out, _ = run(capsys, "invite", "list", "--org", str(org))
    assert code == 0 and "withdrawn" in out
    code, _, err = run(capsys, "invite", "list", "--org", "99")
    assert code == 2 and "no organisation 99" in err


def test_people_list_and_deactivate(
    org: int, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_person(env, 701, org, "staff", "manager")
    people = as_json(capsys, "people", "list", "--org", str(org))
    assert people == [
        {
            "id": 1, "telegram_id": 701, "language": "en", "checkins": True,
            "roles": [{"role": "manager", "unit": None}, {"role": "staff", "unit": None}],
        }
    ]  # fmt: skip
    code, out, _ = run(capsys, "people", "list", "--org", str(org))
    assert out.startswith("1\t701\tmanager, staff\tcheck-ins on")
    gone = as_json(capsys, "people", "deactivate", "1", "--org", str(org))
    assert gone == {"id": 1, "org": org, "roles_ended": 2}
    assert as_json(capsys, "people", "list", "--org", str(org)) == []
    code, _, err = run(capsys, "people", "deactivate", "1", "--org", str(org))
    assert code == 2 and "no role in organisation" in err


def test_admin_list_and_remove(org: int, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "admin", "add", "900")[1].strip() == "added"
    assert as_json(capsys, "admin", "list") == [{"id": 1, "telegram_id": 900}]
    assert as_json(capsys, "admin", "list", "--org", str(org)) == []
    add_person(env, 901, org, "admin")
    assert as_json(capsys, "admin", "list", "--org", str(org)) == [{"id": 2, "telegram_id": 901}]
    code, _, err = run(capsys, "admin", "remove", "901")
    assert code == 2 and "not a global administrator" in err
    removed = as_json(capsys, "admin", "remove", "901", "--org", str(org))
    assert removed == {"telegram_id": 901, "org": org, "removed": True}
    assert as_json(capsys, "admin", "remove", "900") == {
        "telegram_id": 900,
        "org": None,
        "removed": True,
    }
    assert as_json(capsys, "admin", "list") == []
    code, _, err = run(capsys, "admin", "remove", "900")
    assert code == 2 and "not a global administrator" in err and err.count("\n") == 1
