"""An organisation admin's own framework in the chat, against the fake Bot API: uploaded,
checked, published, chosen as the lens, and in that organisation's digest only."""

from __future__ import annotations

from bot.infra.i18n import translator
from bot.telegram.callbacks import encode
from dialogs import SHIPPED_SCRIPTS
from storage.orgs import OrgRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button
from tests.own_framework_docs import VALUES, staff_variant, values, workbook
from tests.test_bot_scripts import admin, staff, upload
from tests.test_digest import DAY, NOW, add_session, staff_member

T = translator("en")
STAFF = (SHIPPED_SCRIPTS / "staff-pulse.yaml").read_text(encoding="utf-8")


def said(bot: Harness, user: User, text: str, after: int = 0) -> StoredMessage | None:
    return next(
        (
            m
            for m in bot.api.messages(user.id)
            if m.message_id > after and m.text and text in m.text
        ),
        None,
    )


async def versions(bot: Harness, org: int) -> int:
    row = await bot.rt.db.fetchone(
        "SELECT count(*) AS n FROM own_framework_versions WHERE org_id = ?", (org,)
    )
    return int(row["n"])


async def answered(bot: Harness, org: int, base: int) -> None:
    """The organisation's staff variant mapped to its framework, and three answers under it."""
    runtime = bot.rt
    admin_service = runtime.script_admin
    frameworks = await admin_service.frameworks_of(org)
    draft = admin_service.load_draft(staff_variant(STAFF).encode(), "staff.yaml", frameworks)
    published = await admin_service.publish(draft, org, None)
    links = await runtime.scripts.repo.items(published.version.id)
    question = next(q for q, framework, _item in links if framework == "own-values")
    for n in range(3):
        person = await staff_member(runtime, org, base + n)
        await add_session(runtime, org, "staff", person, DAY, [(question, 3.0 + n)])


async def test_uploaded_checked_chosen_as_lens_and_in_that_digest_only(bot: Harness) -> None:
    bot.clock.now = NOW
    home = await bot.org("Dom Sonce", k=3)
    other = await bot.org("Other Home", k=3)
    ada = await admin(bot, home)
    bob = await admin(bot, other)

    # A framework with errors: every one, located; nothing stored.
    broken = VALUES.replace("id: own-values", "id: values").replace('cs: "Vlastním', 'de: "X')
    replies = await upload(bot, ada, broken.encode(), "values.yaml")
    report = "\n".join(m.text for m in replies)
    assert "The framework has 3 errors. Nothing was changed" in report
    assert "values.yaml:2: framework.id: must start with 'own-'" in report
    assert await versions(bot, home) == 0

    # Valid, as a workbook: the summary, then Publish, then the lens.
    replies = await upload(bot, ada, workbook(), "values.xlsx")
    summary = replies[-1]
    assert "Framework own-values is valid: Our values at Dom Sonce." in summary.text
    assert "dignity: Dignity first" in summary.text
    assert summary.button_texts == [T("✅ Publish"), T("🗑 Discard")]
    await bot.press(ada, summary, button(summary, T("✅ Publish")))
    published = bot.api.message(ada.id, summary.message_id)
    assert published.text.startswith("Published: own-values version 1.")
    assert await versions(bot, home) == 1
    await bot.press(ada, published, button(published, "📊"))
    assert bot.api.message(ada.id, published.message_id).text == T(
        "Done: your digests now report under {framework}.", framework="own-values"
    )
    assert (await OrgRepo(bot.rt.db).get_org(home)).lens == "own-values"  # type: ignore[union-attr]

    # The other organisation cannot choose it by a forged button.
    last = bot.api.last_message(bob.id)
    assert last is not None
    notice = await bot.press(bob, last, encode("fl", "own-values"), check=False)
    assert notice.get("text") == T("Your organisation cannot use that framework as its lens.")
    assert (await OrgRepo(bot.rt.db).get_org(other)).lens == "equass"  # type: ignore[union-attr]
    # It publishes its own under the same id: two frameworks, no clash.
    replies = await upload(bot, bob, values("Values of the other home").encode(), "ours.yaml")
    assert "It is new to your organisation." in replies[-1].text
    await bot.press(bob, replies[-1], button(replies[-1], T("✅ Publish")))
    assert await versions(bot, other) == 1 and await versions(bot, home) == 1

    await answered(bot, home, 7100)
    await answered(bot, other, 7200)

    before = (await bot.command(ada, "/digest")).message_id - 1
    digest = await bot.settle(lambda: said(bot, ada, "Dignity first", before))
    assert "Our values at Dom Sonce" in digest.text
    # The chart and the printable report follow.
    await bot.settle(lambda: bot.api.calls_to("sendPhoto") and bot.api.calls_to("sendDocument"))
    before = (await bot.command(bob, "/digest")).message_id - 1
    theirs = await bot.settle(lambda: said(bot, bob, "Other Home", before))
    assert "Our values" not in theirs.text and "Dignity first" not in theirs.text
    assert "Values of the other home" not in theirs.text  # its lens is still EQUASS
    assert said(bot, bob, "Our values at Dom Sonce") is None


async def test_a_second_version_and_discarding(bot: Harness) -> None:
    home = await bot.org("Dom Sonce")
    ada = await admin(bot, home)
    replies = await upload(bot, ada, VALUES.encode(), "values.yaml")
    await bot.press(ada, replies[-1], button(replies[-1], T("✅ Publish")))
    replies = await upload(bot, ada, values(dignity="Dignity above all").encode(), "v2.yaml")
    summary = replies[-1]
    assert "It replaces version 1." in summary.text and "Renamed: dignity" in summary.text
    await bot.press(ada, summary, button(summary, T("🗑 Discard")))
    assert await versions(bot, home) == 1
    # The discarded draft's button is gone with it.
    notice = await bot.press(ada, summary, encode("fu", "0" * 16), check=False)
    assert notice.get("text") == T("This draft is gone. Please send the file again.")
    replies = await upload(bot, ada, values(dignity="Dignity above all").encode(), "v2.yaml")
    await bot.press(ada, replies[-1], button(replies[-1], T("✅ Publish")))
    assert bot.api.message(ada.id, replies[-1].message_id).text.startswith(
        "Published: own-values version 2."
    )
    assert await versions(bot, home) == 2


async def test_hostile_framework_uploads_change_nothing(bot: Harness) -> None:
    home = await bot.org()
    ada = await admin(bot, home)
    for data, name in (
        (b"framework:\n  id: &a own-x\n  name: *a\n", "bomb.yaml"),
        (b"framework: [" * 60 + b"]" * 60, "deep.yaml"),
        (b"framework: [1, 2, 3]\n", "list.yaml"),
        (VALUES.replace("Dignity first", "<a href='x'>Dignity</a>").encode(), "html.yaml"),
        (b"framework:\n  id: own-x\n\x00\x01\x02", "binary.yaml"),
        (workbook(head=[["id", "name::en"], ["own-x", "=1+1"]]), "formula.xlsx"),
        (b"hello: world\n", "neither.yaml"),
    ):
        replies = await upload(bot, ada, data, name)
        assert replies and all(not m.buttons for m in replies), name
        assert "Nothing was changed" in replies[-1].text, name
    neither = said(bot, ada, T("This file is neither a script nor a framework."))
    assert neither is not None and "framework:" in neither.text
    html = said(bot, ada, "html.yaml")
    assert html is not None and "<a href" not in (html.text or "")
    too_big = await upload(bot, ada, b"framework:\n" + b"#" * (300 * 1024), "big.yaml")
    assert too_big[-1].text.startswith(T("This file cannot be used"))
    assert await versions(bot, home) == 0


async def test_staff_and_a_units_admin_are_refused(bot: Harness) -> None:
    home = await bot.org()
    unit = await OrgRepo(bot.rt.db).create_unit(home, "Enota A")
    sam = await staff(bot, home, "Sam")
    refused = await upload(bot, sam, VALUES.encode(), "values.yaml")
    assert refused[-1].text == T("Only administrators can send scripts. I did not open the file.")
    code = await bot.invite(home, "admin", unit_id=unit)
    una = bot.user("Una")
    await bot.command(una, "/start", code)
    refused = await upload(bot, una, VALUES.encode(), "values.yaml")
    assert refused[-1].text == T("Only administrators can send scripts. I did not open the file.")
    assert bot.api.calls_to("getFile") == []
    # Nor can either make a framework the lens with a forged button.
    for who in (sam, una):
        last = bot.api.last_message(who.id)
        assert last is not None
        notice = await bot.press(who, last, encode("fl", "own-values"), check=False)
        assert notice.get("text") == T("Only administrators can do this.")
    assert await versions(bot, home) == 0


async def test_a_global_admin_is_told_it_is_an_organisations_own(bot: Harness) -> None:
    home = await bot.org()
    gil = bot.user("Gil")
    await bot.rt.organisations.add_admin(gil.id)
    await bot.command(gil, "/help")
    replies = await upload(bot, gil, VALUES.encode(), "values.yaml")
    assert replies[-1].text == T(
        "An organisation's own framework is published by an administrator of that "
        "organisation, or with: carecheck framework publish FILE --org ID"
    )
    assert await versions(bot, home) == 0
