"""Question bank v2: an existing database takes it up as new versions, old answers keep their
meaning, and every digest lens names the items no live question assesses.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.infra.config import load_settings
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_render import report_html, telegram_html
from bot.services.periods import iso_week
from bot.services.runtime import Runtime, open_runtime
from bot.services.script_registry import ScriptRegistry, crosswalk
from dialogs import SHIPPED_SCRIPTS
from dialogs.model import Script
from frameworks import default_frameworks
from storage.db import Database
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from storage.scripts import ScriptRepo
from tests.test_digest import CLOCK, LENSES, NOW, runtime

__all__ = ["runtime"]  # the digest tests' fixture: a runtime over a fresh database at NOW

V1 = Path(__file__).with_name("scripts_v1")
# A day inside the window a digest shows on NOW (8-week windows from the first plan).
DAY = date(2026, 10, 1)
MARK = "Not assessed by these questions:"


async def answer(
    db: Database, org_id: int, version_id: int, audience: str, person: int | None, rows: list
) -> None:
    """A finished session under `version_id` with these (question, score) answers."""
    on, period = DAY.isoformat(), iso_week(DAY)

    def insert(conn: sqlite3.Connection) -> None:
        session = conn.execute(
            "INSERT INTO sessions (script_version_id, org_id, audience, person_id, period,"
            " status, started_on, updated_on, completed_on)"
            " VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?) RETURNING id",
            (version_id, org_id, audience, person, period, on, on, on),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO answers (session_id, org_id, audience, script_version_id, question_id,"
            " score, period, answered_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(session, org_id, audience, version_id, q, s, period, on) for q, s in rows],
        )

    await db.run(insert)


def live_items(paths: list[Path], lens: str) -> set[str]:
    frameworks = default_frameworks()
    return {
        item
        for path in paths
        for _q, framework, item in crosswalk(
            Script.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))), frameworks
        )
        if framework == lens
    }


# ---- every lens says what it does not assess ----


async def publish_leaders_only(runtime: Runtime, org_id: int) -> Script:
    """The organisation's own staff pulse: the shipped one's leadership and staff statements."""
    doc = yaml.safe_load((SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8"))
    doc["sections"] = doc["sections"][:2]
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    validation = runtime.scripts.validate(text, "staff-pulse.yaml")
    assert validation.script is not None, validation.errors
    await runtime.scripts.publish(validation.script, text, "yaml", org_id, None)
    return validation.script


@pytest.mark.parametrize("lens", LENSES)
async def test_with_the_shipped_scripts_every_item_of_every_lens_is_assessed(
    runtime: Runtime, lens: str
) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Everything asked", k=3)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, lens=lens, now=NOW)
    assert digest.not_assessed == ()
    assert MARK not in telegram_html(digest, runtime.frameworks, "en")
    assert MARK not in report_html(digest, runtime.frameworks, "en", b"")


@pytest.mark.parametrize("lens", LENSES)
async def test_an_item_no_live_question_maps_to_is_listed_and_no_other(
    runtime: Runtime, lens: str
) -> None:
    """An organisation whose own staff pulse asks only about leadership and staff: under every lens,
    exactly the items neither that variant nor the global service-user script reaches are
    named, in the message, the chart's notes and the report; another organisation, on the
    global scripts, is not affected."""
    org_id = await OrgRepo(runtime.db).create_org("Leadership only", k=3)
    other = await OrgRepo(runtime.db).create_org("Everything", k=3)
    own = await publish_leaders_only(runtime, org_id)

    framework = runtime.frameworks.get(lens)
    asked = {
        item for _q, fw, item in crosswalk(own, runtime.frameworks) if fw == lens
    } | live_items([SHIPPED_SCRIPTS / "service-user.yaml"], lens)
    expected = [i for i in framework.items if i not in asked]

    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, lens=lens, now=NOW)
    assert list(digest.not_assessed) == expected
    if not expected:  # E-Qalin and the revised EQUASS: every item still reached
        assert lens in ("eqalin", "equass-revised")
        return
    message = telegram_html(digest, runtime.frameworks, "en")
    line = next(x for x in message.splitlines() if MARK in x)
    for item in framework.items.values():
        named = f"{item.number}. {item.name('en')}" in line
        assert named == (item.id in expected), (lens, item.id)
    report = report_html(digest, runtime.frameworks, "en", b"")
    assert MARK in report
    assert (
        digest.not_assessed
        and (
            await compute_digest(runtime.db, runtime.frameworks, other, lens=lens, now=NOW)
        ).not_assessed
        == ()
    )


async def test_the_chart_notes_what_is_not_assessed(runtime: Runtime) -> None:
    from bot.services.digests.digest_chart import build_figure

    org_id = await OrgRepo(runtime.db).create_org("Leadership only", k=3)
    await publish_leaders_only(runtime, org_id)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, lens="cz-sqss", now=NOW)
    label = build_figure(digest, runtime.frameworks, "en").axes[0].get_xlabel()
    assert "Not assessed by these questions:" in label and "8. Links to other services" in label


async def test_the_czech_lens_is_translated_in_every_language(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Leadership only", k=3)
    await publish_leaders_only(runtime, org_id)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, lens="cz-sqss", now=NOW)
    standard = runtime.frameworks.get("cz-sqss").items["8"]
    lines = {
        language: telegram_html(digest, runtime.frameworks, language)
        for language in ("en", "sl", "de", "cs", "lt")
    }
    for language, message in lines.items():
        line = next(x for x in message.splitlines() if f"8. {standard.name(language)}" in x)
        assert line.startswith("<i>") and line.endswith(".</i>"), (language, line)
    # Each language says it in its own words: the line's lead differs in all five.
    leads = {m.split("3. ")[0].rsplit("\n", 1)[-1] for m in lines.values()}
    assert len(leads) == 5, leads


# ---- the new version keeps old answers under their old items ----


async def test_an_existing_database_takes_up_v2_and_old_answers_keep_their_items(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carecheck.db"
    frameworks = default_frameworks()
    db = await Database.open(path, clock=CLOCK)
    try:
        v1 = ScriptRegistry(db, frameworks)
        await v1.ensure_shipped(V1)
        org_id = await OrgRepo(db).create_org("Since v1", k=3)
        staff_v1 = await ScriptRepo(db).active("staff-pulse", None)
        users_v1 = await ScriptRepo(db).active("service-user", None)
        assert staff_v1 is not None and users_v1 is not None
        people = PeopleRepo(db)
        for n in range(3):
            person = await people.get_or_create(9000 + n, "en")
            await people.add_membership(person.id, org_id, None, "staff")
            # A v1 statement that v2 split in two, answered before the upgrade.
            await answer(db, org_id, staff_v1.id, "staff", person.id, [("rights_complaints", 2.0)])
        for _n in range(3):  # su_overall under v1: Result orientation
            await answer(db, org_id, users_v1.id, "service_user", None, [("su_overall", 4.0)])
    finally:
        await db.close()

    settings = load_settings({"CARECHECK_DB": str(path)})
    async with open_runtime(settings, CLOCK) as runtime:  # the upgrade happens on start
        repo = ScriptRepo(runtime.db)
        for script_id, old in (("staff-pulse", staff_v1), ("service-user", users_v1)):
            versions = await repo.versions(script_id, None)
            assert [v.version for v in versions] == [1, 2]
            live = await repo.active(script_id, org_id)
            assert live is not None and live.version == 2
            assert versions[0].source_text == old.source_text  # v1 kept verbatim
        # Old answers keep the crosswalk of the version they were given under.
        old_links = set(await repo.items(users_v1.id))
        assert ("su_overall", "equass", "result-orientation") in old_links
        users_v2 = await repo.active("service-user", None)
        assert users_v2 is not None
        new_links = set(await repo.items(users_v2.id))
        # v2 dropped the overall question; its old answers stay Result orientation.
        assert not [q for q, _f, _i in new_links if q == "su_overall"]
        assert ("su_complain", "equass", "rights") in old_links & new_links
        staff_v2 = await repo.active("staff-pulse", None)
        assert staff_v2 is not None
        assert not [q for q, _f, _i in await repo.items(staff_v2.id) if q == "rights_complaints"]

        # After the upgrade, v2 answers count under v2's crosswalk.
        for _n in range(3):
            await answer(
                runtime.db, org_id, users_v2.id, "service_user", None, [("su_yourself", 2.0)]
            )
        digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
        results = digest.item("result-orientation").service_users.figure
        centred = digest.item("person-centred").service_users.figure
        assert results is not None and (results.n, results.mean) == (3, 4.0)
        assert centred is not None and (centred.n, centred.mean) == (3, 2.0)
        rights = digest.item("rights").staff.figure
        assert rights is not None and (rights.n, rights.mean) == (3, 2.0)
        cz = await compute_digest(runtime.db, runtime.frameworks, org_id, lens="cz-sqss", now=NOW)
        complaints = cz.item("7").staff.figure  # rights_complaints mapped to standard 7 in v1
        assert complaints is not None and complaints.mean == 2.0
        assert digest.not_assessed == () and cz.not_assessed == ()

        # Start-up again: nothing new to publish, old versions untouched.
        assert await runtime.scripts.ensure_shipped() == []


async def test_v2_keeps_the_ids_of_unchanged_questions() -> None:
    """Questions whose meaning stayed keep their ids; every new meaning has a new id."""

    def questions(path: Path) -> dict[str, dict]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {q["id"]: q for s in doc["sections"] for q in s["questions"]}

    for name in ("staff-pulse.yaml", "service-user.yaml"):
        old, new = questions(V1 / name), questions(SHIPPED_SCRIPTS / name)
        for qid in old.keys() & new.keys():
            assert old[qid]["text"]["en"] == new[qid]["text"]["en"], qid
        for qid in new.keys() - old.keys():
            assert new[qid]["text"]["en"] not in {q["text"]["en"] for q in old.values()}, qid
        assert old.keys() & new.keys()


async def test_an_item_only_an_earlier_script_asked_about_is_not_said_to_be_asked(
    runtime: Runtime,
) -> None:
    """Answers from the global pulse, before the organisation's own: their item is named as
    not assessed by these questions, and the staff line no longer says staff are asked."""
    org_id = await OrgRepo(runtime.db).create_org("Switched", k=3)
    earlier = await ScriptRepo(runtime.db).active("staff-pulse", None)
    assert earlier is not None
    people = PeopleRepo(runtime.db)
    for n in range(3):
        person = await people.get_or_create(9100 + n, "en")
        await people.add_membership(person.id, org_id, None, "staff")
        rows = [("partner_network", 4.0), ("lead_heading", 3.0)]
        await answer(runtime.db, org_id, earlier.id, "staff", person.id, rows)
    await publish_leaders_only(runtime, org_id)
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, now=NOW)
    assert digest.not_assessed == ("partnership",)
    assert "partnership" in digest.coverage["staff"]  # its earlier answers are still shown
    lines = telegram_html(digest, runtime.frameworks, "en").splitlines()
    staff_line = next(x for x in lines if x.startswith("<i>Staff are asked about: "))
    assert "Leadership" in staff_line and "Partnership" not in staff_line
    assert "<i>Not assessed by these questions: 5. Partnership.</i>" in lines
