"""An organisation's own framework: checked, versioned, its own alone, mapped to, reported under."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.infra.config import load_settings
from bot.services.digests.digest_chart import render_chart
from bot.services.digests.digest_compute import DigestError, compute_digest
from bot.services.digests.digest_delivery import deliver_due
from bot.services.digests.digest_render import RenderedDigest, plain_text, report_html
from bot.services.own_frameworks import (
    FrameworkRefused,
    read_framework,
    upload_kind,
)
from bot.services.runtime import Runtime, open_runtime
from bot.services.script_admin import InvalidDraft
from dialogs import SHIPPED_SCRIPTS
from frameworks import check_own_framework, load_frameworks
from storage.digest_log import Recipient
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fake_clock import FakeClock
from tests.own_framework_docs import VALUES, staff_variant, values, workbook
from tests.test_digest import DAY, NOW, add_session, staff_member

EXAMPLE = Path(__file__).parent.parent / "frameworks" / "examples"
STAFF = (SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8")


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, FakeClock(NOW)) as opened:
        yield opened


# ---------------------------------------------------------------- reading and checking


def test_the_shipped_example_is_valid_and_marked_as_an_example() -> None:
    path = EXAMPLE / "own-quality-areas.example.yaml"
    text = path.read_text(encoding="utf-8")
    assert "AN EXAMPLE, NOT OFFICIAL CONTENT" in text and "not KQS" in text
    draft = read_framework(text.encode(), path.name)
    assert draft.ok and draft.framework is not None
    framework = draft.framework
    assert framework.id == "own-quality-areas"
    assert framework.items["successful-service"].name("de").startswith("Unsere Definition")
    assert framework.needs_review == ("sl", "de", "cs", "lt")
    for item in framework.items.values():
        assert all(item.name(lang) for lang in ("en", "sl", "de", "cs", "lt"))


def test_every_error_at_once_each_on_its_line() -> None:
    text = """\
framework:
  id: values
  languages: [en, cs]
  name: {en: "Our values"}
  colour: blue
  items:
    - id: dignity
      name: {en: "<b>Dignity</b>", cs: "Důstojnost"}
    - id: dignity
      name: {en: "Again", cs: "Znovu", de: "Wieder"}
    - id: Pace
      name: "At one's own pace"
"""
    draft = read_framework(text.encode(), "ours.yaml")
    assert not draft.ok
    found = {(e.line, e.path): e.message for e in draft.errors}
    assert found[(2, "framework.id")].startswith("must start with 'own-'")
    assert found[(4, "framework.name")] == "missing language cs"
    assert found[(5, "framework.colour")].startswith("unknown key (allowed: id, languages")
    assert "without '<', '>'" in found[(8, "framework.items[0].name.en")]
    assert found[(9, "framework.items[1].id")] == "duplicate id 'dignity' (also items[0])"
    assert found[(10, "framework.items[1].name.de")].startswith("'de' is not one of")
    assert "a-z, 0-9" in found[(11, "framework.items[2].id")]
    assert found[(12, "framework.items[2].name")] == "must be a mapping, got str"
    assert all(str(e).startswith(f"ours.yaml:{e.line}: ") for e in draft.errors)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"framework:\n  id: &a own-x\n  name: *a\n", "alias"),
        (b"framework: [" * 60 + b"]" * 60, "nesting"),
        (b"framework: x\n" + b"#" * (300 * 1024), "too_big"),
        (b"framework:\n  id: own-x\n\x00\x01", "binary"),
        ("framework:\n  id: own-x\n".encode("utf-16"), "binary"),
        (b"framework:\n  id: own-x\n  id: own-y\n", "duplicate_key"),
        (b"framework: !!python/object:os.system x\n", "tag"),
    ],
)
def test_hostile_framework_files_are_refused_before_anything_is_built(
    data: bytes, code: str
) -> None:
    draft = read_framework(data, "evil.yaml")
    assert not draft.ok and draft.framework is None and draft.text is None
    assert code in [e.code for e in draft.errors]


def test_a_workbook_is_the_same_framework_and_its_errors_name_cells() -> None:
    from_yaml = read_framework(VALUES.encode(), "values.yaml")
    from_book = read_framework(workbook(), "values.xlsx")
    assert from_book.ok and from_book.source_format == "xlsx"
    assert from_book.framework == from_yaml.framework
    # What is stored is YAML, which reads back as the same framework.
    assert from_book.text is not None
    assert read_framework(from_book.text.encode(), "stored").framework == from_yaml.framework

    broken = workbook(
        items=[
            ["id", "name::en", "name::cs", "colour"],
            ["dignity", "Dignity first"],
            ["own-pace", '=HYPERLINK("http://x")', "Vlastním tempem"],
        ]
    )
    errors = [(str(e.line), e.message) for e in read_framework(broken, "values.xlsx").errors]
    assert any(at == "items!D1" and m.startswith("unknown column 'colour'") for at, m in errors)
    assert ("items!C2", "missing language cs") in errors
    assert any(at == "items!B3" and m.startswith("formulas are not allowed") for at, m in errors)


def test_the_workbook_form_reads_back_to_the_same_framework() -> None:
    text = values(dignity="=Equal dignity, 100 %")  # text that starts like a formula
    draft = read_framework(text.encode(), "v.yaml")
    again = read_framework(draft.workbook(), "v.xlsx")
    assert again.ok and again.framework == draft.framework
    assert again.framework is not None
    assert again.framework.items["dignity"].name("en") == "=Equal dignity, 100 %"
    assert (
        again.languages == ("en", "cs")
        and again.framework.needs_review == draft.framework.needs_review
    )  # type: ignore[union-attr]


def test_a_framework_is_told_from_a_script_and_neither_says_so() -> None:
    assert upload_kind(VALUES.encode(), "values.yaml") == "framework"
    assert upload_kind(b"\xef\xbb\xbf" + VALUES.encode(), "values.txt") == "framework"
    assert upload_kind(b"framework: [broken\n", "x.yaml") == "framework"
    assert upload_kind(STAFF.encode(), "staff.yaml") == "script"
    assert upload_kind(workbook(), "values.xlsx") == "framework"
    assert upload_kind(b"hello: world\n", "x.yaml") == "neither"
    assert upload_kind("id: x\n".encode("utf-16"), "x.yaml") == "script"  # "not UTF-8"
    assert upload_kind(b"PK\x03\x04 not a zip", "x.xlsx") == "script"  # the reader says why
    assert upload_kind(b"PK\x03\x04 not a zip", "x.zip") == "neither"


def test_shipped_framework_ids_cannot_take_the_own_prefix(tmp_path: Path) -> None:
    data = Path(__file__).parent.parent / "frameworks" / "data" / "eqalin.yaml"
    text = data.read_text(encoding="utf-8").replace("id: eqalin", "id: own-eqalin", 1)
    (tmp_path / "eqalin.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="'own-' begins own frameworks' ids"):
        load_frameworks(tmp_path)


def test_languages_the_organisation_did_not_write_show_its_first() -> None:
    check = check_own_framework(
        {
            "framework": {
                "id": "own-x",
                "languages": ["cs"],
                "name": {"cs": "Naše"},
                "items": [{"id": "a", "name": {"cs": "Áčko"}}],
            }
        }
    )
    assert check.ok and check.framework is not None
    assert check.framework.items["a"].name("en") == "Áčko"
    assert "en" in check.framework.needs_review


# ---------------------------------------------------------------- versions and scope


async def test_each_publish_is_a_version_and_the_newest_is_live(runtime: Runtime) -> None:
    org = await OrgRepo(runtime.db).create_org("Dom Sonce")
    own = runtime.own_frameworks
    first = await own.publish(read_framework(VALUES.encode(), "v.yaml"), org, None)
    assert first.created and first.version.version == 1
    again = await own.publish(read_framework(VALUES.encode(), "v.yaml"), org, None)
    assert not again.created and again.version.id == first.version.id
    renamed = read_framework(values(dignity="Dignity above all").encode(), "v.yaml")
    change = await own.change(renamed, org)
    assert (change.live_version, change.renamed) == (1, ("dignity",))
    second = await own.publish(renamed, org, None)
    assert second.created and second.version.version == 2
    assert [v.version for v in await own.versions(org, "own-values")] == [1, 2]
    seen = await own.of(org)
    assert seen.item("own-values", "dignity").name("en") == "Dignity above all"  # type: ignore[union-attr]
    old = await own.version(org, "own-values", 1)
    assert "Dignity first" in old.source_text


async def test_the_same_id_in_two_organisations_names_two_frameworks(runtime: Runtime) -> None:
    orgs = OrgRepo(runtime.db)
    a, b, c = [await orgs.create_org(name) for name in ("A", "B", "C")]
    own = runtime.own_frameworks
    await own.publish(read_framework(VALUES.encode(), "a.yaml"), a, None)
    await own.publish(read_framework(values("B's values").encode(), "b.yaml"), b, None)
    assert (await own.of(a)).get("own-values").name("en") == "Our values at Dom Sonce"
    assert (await own.of(b)).get("own-values").name("en") == "B's values"
    assert "own-values" not in await own.of(c)
    assert "own-values" not in await own.of(None)
    choices = runtime.organisations.lens_choices
    assert "own-values" in await choices(a) and "equass" in await choices(a)
    assert await choices(c) == runtime.frameworks.ids()
    assert not await own.choose_lens(c, "own-values")
    assert (await orgs.get_org(c)).lens != "own-values"  # type: ignore[union-attr]
    assert await own.choose_lens(a, "own-values")
    assert (await orgs.get_org(a)).lens == "own-values"  # type: ignore[union-attr]


# ---------------------------------------------------------------- mapping


async def test_only_the_organisations_own_variant_maps_to_its_framework(
    runtime: Runtime,
) -> None:
    orgs = OrgRepo(runtime.db)
    a, b = await orgs.create_org("A"), await orgs.create_org("B")
    await runtime.own_frameworks.publish(read_framework(VALUES.encode(), "v.yaml"), a, None)
    admin = runtime.script_admin
    text = staff_variant(STAFF).encode()

    # A shipped/global script cannot map to it, nor can another organisation's variant.
    for scope in (None, b):
        draft = admin.load_draft(text, "staff.yaml", await admin.frameworks_of(scope))
        assert not draft.ok
        assert "unknown framework 'own-values'" in "; ".join(map(str, draft.errors))
        with pytest.raises(InvalidDraft):
            await admin.publish(draft, scope, None)
    # Nor a variant that names an item the framework does not have.
    wrong = staff_variant(STAFF, "own-values: [kindness]").encode()
    draft = admin.load_draft(wrong, "staff.yaml", await admin.frameworks_of(a))
    assert "own-values has no item 'kindness'" in "; ".join(map(str, draft.errors))

    draft = admin.load_draft(text, "staff.yaml", await admin.frameworks_of(a))
    assert draft.ok
    published = await admin.publish(draft, a, None)
    links = await runtime.scripts.repo.items(published.version.id)
    own_links = [(q, item) for q, framework, item in links if framework == "own-values"]
    assert own_links and {item for _q, item in own_links} == {"dignity"}
    assert await runtime.scripts.active("staff-pulse", b) != await runtime.scripts.active(
        "staff-pulse", a
    )


async def test_a_version_that_drops_a_mapped_item_is_refused(
    runtime: Runtime, tmp_path: Path
) -> None:
    a = await OrgRepo(runtime.db).create_org("A")
    own = runtime.own_frameworks
    await own.publish(read_framework(VALUES.encode(), "v.yaml"), a, None)
    admin = runtime.script_admin
    variant = admin.load_draft(
        staff_variant(STAFF).encode(), "staff.yaml", await admin.frameworks_of(a)
    )
    await admin.publish(variant, a, None)
    without = VALUES.replace("    - id: dignity\n", "    - id: respect\n")
    with pytest.raises(FrameworkRefused, match="item 'dignity' is gone"):
        await own.publish(read_framework(without.encode(), "v.yaml"), a, None)
    assert [v.version for v in await own.versions(a, "own-values")] == [1]

    # After a restart the variant still loads: it is checked against its organisation's view.
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, FakeClock(NOW)) as again:
        loaded = await again.scripts.active("staff-pulse", a)
        assert loaded.version is not None and loaded.version.org_id == a


# ---------------------------------------------------------------- the digest


async def own_lens_org(runtime: Runtime, name: str, framework: str = VALUES) -> tuple[int, str]:
    """An organisation with its framework as lens, its variant mapped, and 3 staff answers."""
    org = await OrgRepo(runtime.db).create_org(name, k=3)
    await runtime.own_frameworks.publish(read_framework(framework.encode(), "v.yaml"), org, None)
    assert await runtime.own_frameworks.choose_lens(org, "own-values")
    admin = runtime.script_admin
    draft = admin.load_draft(
        staff_variant(STAFF).encode(), "staff.yaml", await admin.frameworks_of(org)
    )
    published = await admin.publish(draft, org, None)
    links = await runtime.scripts.repo.items(published.version.id)
    question = next(q for q, framework_id, _item in links if framework_id == "own-values")
    for n in range(3):
        person = await staff_member(runtime, org, 9000 + org * 10 + n)
        await add_session(runtime, org, "staff", person, DAY, [(question, 3.0 + n)])
    return org, question


async def test_the_own_lens_reports_in_that_organisations_digest_only(runtime: Runtime) -> None:
    a, _question = await own_lens_org(runtime, "A")
    b = await OrgRepo(runtime.db).create_org("B", k=3)
    person = await staff_member(runtime, b, 9900)
    await add_session(runtime, b, "staff", person, DAY, [("lead_direction", 2.0)])

    seen = await runtime.own_frameworks.of(a)
    digest = await compute_digest(runtime.db, seen, a, now=NOW)
    assert digest.lens == "own-values"
    figure = digest.item("dignity").staff.figure
    assert figure is not None and (figure.n, figure.mean) == (3, 4.0)
    text = plain_text(digest, seen, "en")
    assert "Our values at Dom Sonce" in text and "Dignity first" in text
    html = report_html(digest, seen, "cs")
    assert "Naše hodnoty v Domě Sonce" in html and "Důstojnost především" in html
    assert render_chart(digest, seen, "en").startswith(b"\x89PNG")

    # Organisation B sees no such lens, whichever way it is asked for.
    b_seen = await runtime.own_frameworks.of(b)
    with pytest.raises(DigestError, match="unknown lens 'own-values'"):
        await compute_digest(runtime.db, b_seen, b, lens="own-values", now=NOW)
    b_text = plain_text(await compute_digest(runtime.db, b_seen, b, now=NOW), b_seen, "en")
    assert "Our values" not in b_text and "Dignity first" not in b_text


async def test_the_weekly_delivery_uses_each_organisations_own_view(runtime: Runtime) -> None:
    a, _q = await own_lens_org(runtime, "A")
    b, _q = await own_lens_org(runtime, "B", values("Values of B", "Dignity, B's way"))
    people = PeopleRepo(runtime.db)
    for org, telegram_id in ((a, 71), (b, 72)):
        manager = await people.get_or_create(telegram_id, "en")
        await people.add_membership(manager.id, org, None, "manager")
        await runtime.db.execute(  # created before this week's slot
            "UPDATE organisations SET created_at = '2026-01-01T00:00:00Z' WHERE id = ?", (org,)
        )
    sent: dict[int, str] = {}

    async def outbox(recipient: Recipient, rendered: RenderedDigest, part: str) -> None:
        sent[recipient.telegram_id] = "\n".join(rendered.messages) + rendered.report_html

    result = await deliver_due(runtime.db, runtime.own_frameworks, outbox, now=NOW, pace=0)
    assert result.failed == 0 and set(sent) == {71, 72}
    assert "Our values at Dom Sonce" in sent[71] and "Dignity first" in sent[71]
    assert "Values of B" not in sent[71] and "B's way" not in sent[71]
    assert "Values of B" in sent[72] and "Dignity, B&#39;s way" in sent[72]
    assert "Dom Sonce" not in sent[72] and "Dignity first" not in sent[72]


async def test_a_stored_version_that_no_longer_validates_leaves_the_shipped_lenses(
    runtime: Runtime,
) -> None:
    org = await OrgRepo(runtime.db).create_org("A", k=3)
    await runtime.own_frameworks.repo.publish(
        org, "own-values", "framework: {id: own-values}\n", "yaml", "broken", None
    )
    seen = await runtime.own_frameworks.of(org)
    assert "own-values" not in seen and "equass" in seen
    digest = await compute_digest(runtime.db, seen, org, now=NOW)
    assert digest.lens == "equass"
