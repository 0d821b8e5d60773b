"""Script administration: drafts from uploads, summaries, publishing, rollback, downloads."""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.services.script_admin import (
    MAX_UPLOAD_BYTES,
    InvalidDraft,
    ScriptAdmin,
    VersionNotFound,
    preview_engine,
    read_draft,
    upload_problem,
)
from bot.services.script_registry import ScriptRegistry
from dialogs import SHIPPED_SCRIPTS
from dialogs.validate import validate_source
from dialogs.workbook_reader import validate_workbook
from dialogs.workbook_writer import write_workbook
from frameworks import default_frameworks
from storage import Database, OrgRepo, PeopleRepo
from tests.fake_clock import FakeClock
from tests.scriptdocs import StubFrameworks, build, full_document, to_yaml, tr

CLOCK = FakeClock()

FRAMEWORKS = default_frameworks()
STAFF = (SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8")


def staff_doc() -> dict[str, Any]:
    result = validate_source(STAFF, "staff-pulse.yaml")
    assert result.script is not None
    return result.script.model_dump(by_alias=True, exclude_none=True)


def reworded_staff() -> str:
    """The shipped staff pulse with one statement reworded and one added."""
    doc = staff_doc()
    first = doc["sections"][0]["questions"][0]
    first["text"]["en"] = "I know where our organisation is going, and why."
    added = copy.deepcopy(first)
    added["id"] = "lead_new"
    doc["sections"][0]["questions"].append(added)
    return to_yaml(doc)


@pytest.fixture
async def db(db_location: str) -> AsyncIterator[Database]:
    async with await Database.open(db_location, clock=CLOCK) as database:
        yield database


@pytest.fixture
async def admin(db: Database) -> ScriptAdmin:
    registry = ScriptRegistry(db, FRAMEWORKS)
    await registry.ensure_shipped()
    return ScriptAdmin(registry)


@pytest.fixture
async def person(db: Database) -> int:
    return (await PeopleRepo(db).get_or_create(4242, "en")).id


@pytest.fixture
async def org(db: Database) -> int:
    return await OrgRepo(db).create_org("Sunny Home", "Europe/Ljubljana", "sl", 5)


async def stored_versions(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM script_versions")
    assert row is not None
    return int(row[0])


# ---- drafts ----


def test_a_yaml_draft_keeps_the_text_as_uploaded() -> None:
    data = ("\ufeff" + STAFF).encode("utf-8")  # with a byte order mark
    draft = read_draft(data, "uploads/staff-pulse.yaml", FRAMEWORKS)
    assert draft.ok and draft.source_format == "yaml"
    assert draft.filename == "staff-pulse.yaml"
    assert draft.text == STAFF
    assert draft.digest == read_draft(STAFF.encode(), "other.yml", FRAMEWORKS).digest


def test_a_workbook_draft_is_stored_as_its_yaml() -> None:
    script = validate_source(STAFF, "s.yaml").script
    assert script is not None
    draft = read_draft(write_workbook(script), "staff.xlsx", FRAMEWORKS)
    assert draft.ok and draft.source_format == "xlsx"
    assert draft.script == script
    assert draft.text is not None
    assert validate_source(draft.text, "stored.yaml").script == script


def test_a_name_without_a_known_extension_is_told_by_its_content() -> None:
    script = build(full_document())
    assert read_draft(write_workbook(script), "script", FRAMEWORKS).source_format == "xlsx"
    yaml_draft = read_draft(to_yaml(full_document()).encode(), "script", FRAMEWORKS)
    assert yaml_draft.source_format == "yaml" and yaml_draft.ok


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (12 * 1024 * 1024))
    return out.getvalue()


def _unknown_item() -> bytes:
    doc = full_document()
    doc["sections"][1]["maps_to"] = {"equass": ["rights", "happiness"]}
    return to_yaml(doc).encode()


ALIASES = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"


@pytest.mark.parametrize(
    ("data", "name", "code", "where"),
    [
        (bytes(range(256)) * 8, "script.yaml", "binary", None),
        ("id: café\n".encode("latin-1"), "script.yaml", "encoding", 1),
        (ALIASES, "bomb.yaml", "alias", 1),
        (b"#" * (MAX_UPLOAD_BYTES + 1), "big.yaml", "too_big", None),
        (_bomb(), "bomb.xlsx", "zip_bomb", None),
        (b"\x00junk" * 100, "junk.xlsx", "not_xlsx", None),
        (b"PK\x03\x04", "old.xls", "format", None),
        (_unknown_item(), "script.yaml", "reference", "line"),
    ],
    ids=["binary", "latin-1", "aliases", "too-big", "zip-bomb", "junk", "xls", "unknown-item"],
)
def test_hostile_uploads_give_clear_located_errors(
    data: bytes, name: str, code: str, where: Any
) -> None:
    draft = read_draft(data, name, FRAMEWORKS)
    assert not draft.ok and draft.script is None and draft.text is None
    assert draft.errors[0].code == code
    assert str(draft.errors[0]).startswith(f"{name}:")
    if where == "line":
        assert isinstance(draft.errors[0].line, int)
        assert "equass has no item 'happiness'" in draft.errors[0].message
    else:
        assert draft.errors[0].line == where


def test_a_workbook_too_long_to_store_as_yaml_is_refused() -> None:
    languages = ("en", "sl", "de", "cs", "lt")
    doc = full_document(languages)
    long_text = {lang: "word " * 130 for lang in languages}
    doc["sections"][1]["questions"] += [
        {"id": f"long{i}", "type": "yes_no", "text": long_text} for i in range(100)
    ]
    data = write_workbook(build(doc))
    assert len(data) < MAX_UPLOAD_BYTES  # repeated words pack small in a zip
    draft = read_draft(data, "long.xlsx", FRAMEWORKS)
    assert not draft.ok
    (error,) = draft.errors
    assert error.code == "too_big"
    assert error.message.endswith(
        f"bytes as YAML; the limit is {MAX_UPLOAD_BYTES}: shorten the texts or split the script"
    )


def test_upload_problems_are_known_before_downloading() -> None:
    assert upload_problem("script.yaml", 1000) is None
    assert upload_problem(None, None) is None
    assert upload_problem("script.xlsx", MAX_UPLOAD_BYTES + 1) == (
        f"the file has {MAX_UPLOAD_BYTES + 1} bytes; the limit is {MAX_UPLOAD_BYTES}"
    )
    assert "send the script as .yaml or as an .xlsx workbook" in str(upload_problem("a.xls", 10))


def test_a_draft_can_be_previewed_without_storage() -> None:
    draft = read_draft(STAFF.encode(), "s.yaml", FRAMEWORKS)
    session = preview_engine(draft).start()
    assert session.screen().question is not None
    with pytest.raises(InvalidDraft):
        preview_engine(read_draft(b"id: [", "bad.yaml", FRAMEWORKS))


# ---- publishing ----


async def test_summary_then_publish_makes_a_new_live_version(
    admin: ScriptAdmin, person: int
) -> None:
    draft = admin.load_draft(reworded_staff().encode(), "staff.yaml")
    summary = await admin.summary(draft, None)
    assert summary.added == ("lead_new",)
    assert [r.question_id for r in summary.reworded] == ["lead_heading"]
    published = await admin.publish(draft, None, person)
    assert published.created and published.version.version == 2
    assert published.version.published_by == person
    live = await admin.active("staff-pulse", None)
    assert live is not None and live.script == draft.script
    assert [v.version for v in await admin.versions("staff-pulse", None)] == [1, 2]


async def test_question_ids_and_items_stay_stable_across_versions(
    admin: ScriptAdmin, person: int
) -> None:
    first = await admin.version("staff-pulse", None)
    published = await admin.publish(
        admin.load_draft(reworded_staff().encode(), "s.yaml"), None, person
    )
    old = await admin.repo.items(first.id)
    new = await admin.repo.items(published.version.id)
    assert {link for link in new if link[0] != "lead_new"} == set(old)
    assert {q for q, _fw, _item in new} == {
        q.id for q in admin.registry.load(published.version).script.questions()
    }
    # a session started on version 1 still finds its version, with the same ids
    old_loaded = await admin.registry.by_version_id(first.id)
    assert old_loaded.script.id == "staff-pulse"
    assert "lead_new" not in {q.id for q in old_loaded.script.questions()}


async def test_publishing_what_is_live_changes_nothing(
    admin: ScriptAdmin, db: Database, person: int
) -> None:
    script = (await admin.active("staff-pulse", None)).script  # type: ignore[union-attr]
    before = await stored_versions(db)
    published = await admin.publish(
        admin.load_draft(write_workbook(script), "same.xlsx"), None, person
    )
    assert not published.created and published.version.version == 1
    assert published.summary is not None and published.summary.unchanged
    assert await stored_versions(db) == before


async def test_an_invalid_draft_is_never_published(
    admin: ScriptAdmin, db: Database, person: int
) -> None:
    before = await stored_versions(db)
    for data, name in [(b"id: [", "x.yaml"), (_bomb(), "x.xlsx"), (_unknown_item(), "x.yaml")]:
        draft = admin.load_draft(data, name)
        with pytest.raises(InvalidDraft) as caught:
            await admin.publish(draft, None, person)
        assert caught.value.errors == draft.errors
    assert await stored_versions(db) == before


async def test_an_organisations_variant_takes_precedence(
    admin: ScriptAdmin, db: Database, person: int, org: int
) -> None:
    draft = admin.load_draft(reworded_staff().encode(), "ours.yaml")
    summary = await admin.summary(draft, org)
    assert summary.added == ("lead_new",)  # against the global script its people get now
    published = await admin.publish(draft, org, person)
    assert (published.version.org_id, published.version.version) == (org, 1)
    ours = await admin.active("staff-pulse", org)
    theirs = await admin.active("staff-pulse", None)
    assert ours is not None and theirs is not None
    assert "lead_new" in {q.id for q in ours.script.questions()}
    assert "lead_new" not in {q.id for q in theirs.script.questions()}
    assert [v.version for v in await admin.versions("staff-pulse", org)] == [1]
    assert [v.version for v in await admin.versions("staff-pulse", None)] == [1]
    other = await OrgRepo(db).create_org("Other", "Europe/Prague", "cs", 5)
    assert (await admin.version("staff-pulse", other)).org_id is None


async def test_rollback_publishes_the_old_text_as_a_new_version(
    admin: ScriptAdmin, person: int
) -> None:
    first = await admin.version("staff-pulse", None, 1)
    await admin.publish(admin.load_draft(reworded_staff().encode(), "s.yaml"), None, person)
    rolled = await admin.rollback("staff-pulse", None, 1, person)
    assert rolled.created and rolled.version.version == 3
    assert rolled.version.source_text == first.source_text
    assert rolled.summary is not None and rolled.summary.removed == ("lead_new",)
    versions = await admin.versions("staff-pulse", None)
    assert [v.version for v in versions] == [1, 2, 3]  # linear: nothing rewritten
    assert [v.id for v in versions] == sorted(v.id for v in versions)
    assert await admin.repo.items(rolled.version.id) == await admin.repo.items(first.id)
    again = await admin.rollback("staff-pulse", None, 1, person)
    assert not again.created and again.version.version == 3
    with pytest.raises(VersionNotFound):
        await admin.rollback("staff-pulse", None, 9, person)


async def test_a_version_that_no_longer_validates_is_not_rolled_back_to(
    db: Database, admin: ScriptAdmin, person: int
) -> None:
    await admin.publish(admin.load_draft(reworded_staff().encode(), "s.yaml"), None, person)
    # the frameworks lost the items version 1 maps to
    narrow = ScriptAdmin(ScriptRegistry(db, StubFrameworks()))
    before = await stored_versions(db)
    with pytest.raises(InvalidDraft) as caught:
        await narrow.rollback("staff-pulse", None, 1, person)
    assert all(e.code == "reference" for e in caught.value.errors)
    assert await stored_versions(db) == before


# ---- reading versions ----


async def test_versions_by_number_or_live(admin: ScriptAdmin, person: int) -> None:
    await admin.publish(admin.load_draft(reworded_staff().encode(), "s.yaml"), None, person)
    assert (await admin.version("staff-pulse", None)).version == 2
    assert (await admin.version("staff-pulse", None, 1)).version == 1
    with pytest.raises(VersionNotFound, match=r"'staff-pulse' has no version 7 \(global\)"):
        await admin.version("staff-pulse", None, 7)
    with pytest.raises(VersionNotFound, match="'nope' has no live version"):
        await admin.version("nope", None)
    assert {v.script_id for v in await admin.scripts()} == {"staff-pulse", "service-user"}


async def test_downloads_in_either_form(admin: ScriptAdmin, person: int, org: int) -> None:
    yaml_file = await admin.export("staff-pulse", None, "yaml", 1)
    assert yaml_file.filename == "staff-pulse-v1.yaml"
    assert yaml_file.data.decode("utf-8") == STAFF
    book = await admin.export("staff-pulse", None, "xlsx")
    assert book.filename == "staff-pulse-v1.xlsx"
    assert book.media_type.endswith("spreadsheetml.sheet")
    live = await admin.active("staff-pulse", None)
    assert live is not None
    assert validate_workbook(book.data, book.filename).script == live.script
    # a workbook upload for an organisation, downloaded again
    draft = admin.load_draft(write_workbook(build(full_document())), "ours.xlsx")
    await admin.publish(draft, org, person)
    ours = await admin.export("test-script", org, "xlsx")
    assert ours.filename == f"test-script-org{org}-v1.xlsx"
    assert validate_workbook(ours.data, ours.filename).script == draft.script
    stored = await admin.version("test-script", org)
    assert stored.source_format == "xlsx"
    assert (await admin.export("test-script", org, "yaml")).data.decode() == draft.text


async def test_graph_of_a_version(admin: ScriptAdmin) -> None:
    text = await admin.graph("service-user", None)
    assert "stateDiagram-v2" in text and "flowchart TD" in text
    assert "su_respect" in text


async def test_a_new_script_without_english_is_listed_by_its_own_title(
    admin: ScriptAdmin, person: int
) -> None:
    doc = full_document(("sl",))
    doc["id"] = "pregled"
    doc["title"] = tr("Preverjanje", ("sl",))
    draft = admin.load_draft(to_yaml(doc).encode(), "sl.yaml")
    summary = await admin.summary(draft, None)
    assert summary.new_script and len(summary.added) == 8
    published = await admin.publish(draft, None, person)
    assert (published.version.version, published.version.title) == (1, "Preverjanje [sl]")
    assert "pregled" in {v.script_id for v in await admin.scripts()}
