"""carecheck poster: looked at as a person would, by rendering the PDF and reading the code.

The PDF is rendered to pixels with PDFium (pypdfium2) and its QR code decoded with
zxing-cpp; its text is read back from the PDF, so every language's lines are on the page
and inside it. getMe is asked of the fake Bot API over HTTP.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from bot.cli.main import main
from bot.infra.i18n import translator
from bot.services.organisations import Organisations, SetupError
from bot.services.own_frameworks import OwnFrameworks
from bot.services.posters import (
    CHOOSE,
    PROMISE,
    SCAN,
    TAP,
    WE_DID,
    WHAT_HAPPENS,
    Posters,
    quarter_before,
)
from frameworks import default_frameworks
from storage.actions import ActionRepo
from storage.db import Database
from storage.invites import InviteRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI

INVITATION = (SCAN, CHOOSE, TAP, PROMISE, WHAT_HAPPENS)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "c.db"))
    monkeypatch.setenv("CARECHECK_SECRET_FILE", str(tmp_path / "c.secret"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out.strip(), out.err


def org_with_unit(capsys: pytest.CaptureFixture[str], name: str, language: str) -> tuple[int, int]:
    org = json.loads(
        run(capsys, "org", "create", "--name", name, "--language", language, "--json")[1]
    )
    unit = json.loads(run(capsys, "unit", "create", "--org", str(org["id"]), "--name", "Enota A",
                          "--json")[1])  # fmt: skip
    return org["id"], unit["id"]


def page_of(pdf: Path) -> tuple[Image.Image, str, pdfium.PdfPage]:
    """The first page as pixels (at 150 dpi) and as text, with whitespace made single."""
    page = pdfium.PdfDocument(str(pdf))[0]
    image = page.render(scale=150 / 72).to_pil()
    text = " ".join(page.get_textpage().get_text_range().split())
    return image, text, page


def decoded(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def sentences(language: str, *msgids: str) -> list[str]:
    return [" ".join(translator(language)(m).split()) for m in msgids]


def test_invitation_pdf_and_png_decode_to_the_link(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org, unit = org_with_unit(capsys, "Dom starejših Šmarje – Žalec", "sl")
    pdf = env / "poster.pdf"
    code, link, err = run(capsys, "poster", "--org", str(org), "--unit", str(unit), "--bot",
                          "our_care_bot", "--out", str(pdf))  # fmt: skip
    assert code == 0, err
    assert link.startswith("https://t.me/our_care_bot?start=")
    image, text, page = page_of(pdf)
    assert page.get_size() == pytest.approx((595.4, 841.7), abs=1)  # A4 in points
    assert decoded(image) == [link]
    # The organisation's language and English, by default; the name with its letters.
    assert "Dom starejših Šmarje – Žalec" in text and "Enota A" in text
    for line in sentences("sl", *INVITATION) + sentences("en", *INVITATION):
        assert line in text
    assert "Deutsch" not in text
    # A new unlimited service-user link for that unit.
    invite = sqlite_row(env, link.rsplit("=", 1)[1])
    assert invite == ("service_user", org, unit, None, None)

    png = env / "poster.png"
    code, png_link, _ = run(capsys, "poster", "--org", str(org), "--languages", "de,cs,lt",
                            "--bot", "@our_care_bot", "--out", str(png))  # fmt: skip
    assert code == 0
    image = Image.open(png)
    assert image.size == (1240, 1754) or abs(image.size[1] - 1754) <= 1
    assert decoded(image) == [png_link] and png_link != link

    pdf5 = env / "all.pdf"
    assert run(capsys, "poster", "--org", str(org), "--languages", "de,cs,lt,sl,en", "--bot",
               "our_care_bot", "--code", png_link.rsplit("=", 1)[1], "--out", str(pdf5))[1] == (
        png_link
    )  # fmt: skip
    image, text, page = page_of(pdf5)
    assert decoded(image) == [png_link]
    for language in ("de", "cs", "lt", "sl", "en"):
        for line in sentences(language, *INVITATION):
            assert line in text, (language, line)
    inside(page)


def sqlite_row(env: Path, code: str) -> tuple[object, ...]:
    import sqlite3

    with sqlite3.connect(env / "c.db") as conn:
        row = conn.execute(
            "SELECT role, org_id, unit_id, max_uses, expires_at FROM invites WHERE code = ?",
            (code,),
        ).fetchone()
    return tuple(row)


def inside(page: pdfium.PdfPage) -> None:
    """Every character drawn lies on the page."""
    width, height = page.get_size()
    textpage = page.get_textpage()
    count = textpage.count_chars()
    assert count > 100
    for index in range(count):
        left, bottom, right, top = textpage.get_charbox(index)
        if right > left:  # spaces and line ends have no box
            assert left >= 0 and right <= width and bottom >= 0 and top <= height, index


@pytest.mark.parametrize(
    "name",
    [
        "W" * 120,
        "<b>Dom</b> <script>alert(1)</script> & $x^2$ {name} %s",
        "\u202eבית אבות שלום\u202c دار الرعاية \u200f\u0000",
    ],
)
def test_hostile_names_stay_on_the_page(
    env: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    import sqlite3

    org, _unit = org_with_unit(capsys, "placeholder", "en")
    with sqlite3.connect(env / "c.db") as conn:  # past the command line's own checks
        conn.execute("UPDATE organisations SET name = ? WHERE id = ?", (name, org))
    pdf = env / "hostile.pdf"
    code, link, err = run(capsys, "poster", "--org", str(org), "--bot", "our_care_bot",
                          "--languages", "en,lt", "--out", str(pdf))  # fmt: skip
    assert code == 0 and err == ""
    image, text, page = page_of(pdf)
    assert decoded(image) == [link]
    inside(page)
    for line in sentences("lt", *INVITATION):
        assert line in text
    if name.startswith("<b>"):
        assert "<script>alert(1)</script>" in text and "$x^2$" in text


def test_without_a_bot_name_it_refuses(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org, _unit = org_with_unit(capsys, "Dom", "en")
    for command in (["poster", "--org", str(org), "--out", str(env / "p.pdf")],
                    ["invite", "create", "--org", str(org), "--role", "staff"]):  # fmt: skip
        code, out, err = run(capsys, *command)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in err and "--bot" in err
    assert not (env / "p.pdf").exists()
    assert "carecheck_bot" not in json.dumps(run(capsys, "invite", "list", "--org", str(org))[1])


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--out", "p.txt"], ".pdf or .png"),
        (["--languages", "sl,xx"], "--languages"),
        (["--code", "no-such-code"], "cannot be used: unknown"),
        (["--unit", "99"], "no unit 99"),
    ],
)
def test_bad_values_are_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    org, _unit = org_with_unit(capsys, "Dom", "en")
    args = ["poster", "--org", str(org), "--bot", "our_care_bot", "--out", str(env / "p.pdf")]
    code, _, err = run(capsys, *args, *extra)
    assert code == 2 and fragment in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_a_bot_name_telegram_would_refuse_is_refused(env: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["poster", "--org", "1", "--bot", "x<y", "--out", str(env / "p.pdf")])
    assert exit_.value.code == 2


def test_a_staff_link_is_not_printed(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org, _unit = org_with_unit(capsys, "Dom", "en")
    staff = json.loads(run(capsys, "invite", "create", "--org", str(org), "--role", "staff",
                           "--bot", "our_care_bot", "--json")[1])  # fmt: skip
    code, _, err = run(capsys, "poster", "--org", str(org), "--bot", "our_care_bot", "--code",
                       staff["code"], "--out", str(env / "p.pdf"))  # fmt: skip
    assert code == 2 and "not a service-user link" in err


async def test_the_bot_name_comes_from_get_me(
    env: Path, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_api.token)
    monkeypatch.setenv("TELEGRAM_API_URL", fake_api.api_base_url)
    monkeypatch.setenv("TELEGRAM_FILE_URL", fake_api.file_base_url)
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)
    # The command runs its own event loop: in a thread, while this one serves the fake API.
    assert await asyncio.to_thread(main, ["org", "create", "--name", "Dom", "--json"]) == 0
    org = json.loads(buffer.getvalue())["id"]
    pdf = env / "p.pdf"
    assert await asyncio.to_thread(main, ["poster", "--org", str(org), "--out", str(pdf)]) == 0
    link = buffer.getvalue().splitlines()[-1]
    assert link.startswith("https://t.me/carecheck_test_bot?start=")
    assert fake_api.calls_to("getMe")
    assert decoded(page_of(pdf)[0]) == [link]
    assert (
        await asyncio.to_thread(main, ["invite", "create", "--org", str(org), "--role", "staff"])
        == 0
    )
    assert buffer.getvalue().splitlines()[-1].startswith("https://t.me/carecheck_test_bot?start=")


async def test_you_said_we_did_lists_last_quarters_done_actions(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    db = await Database.open(tmp_path / "c.db", clock=clock)
    try:
        organisations = Organisations(db)
        org = await organisations.create("Dom Sonce", "Europe/Ljubljana", "sl", 5)
        other = await organisations.create("Dom Luna", "Europe/Ljubljana", "sl", 5)
        repo = ActionRepo(db)
        today = clock.now.date()
        plans = [
            (org, "Breaks kept", "rights", today - timedelta(days=3), "done"),
            (org, "Menus in large print", "leadership", date(2026, 9, 1), "done"),
            (org, "Old change of June", "rights", date(2026, 6, 2), "done"),
            (org, "Still open", "rights", None, "open"),
            (other, "Another home's", "rights", today, "done"),
        ]
        for owner, title, item, done_on, status in plans:
            action = await repo.create(owner, None, "equass", item, title, None, None, None, None)
            if status == "done":
                await repo.set_status(action.id, "done", done_on)
        posters = Posters(organisations, OwnFrameworks(db, default_frameworks()))
        made = await posters.you_said_we_did(org, None, "pdf")
        pdf = tmp_path / "we-did.pdf"
        pdf.write_bytes(made.content)
        _image, text, page = page_of(pdf)
        assert "Breaks kept" in text and "Menus in large print" in text
        assert text.index("Breaks kept") < text.index("Menus in large print")  # newest first
        assert "Old change of June" not in text and "Still open" not in text
        assert "Another home's" not in text
        for language in ("sl", "en"):
            t = translator(language)
            assert t(WE_DID) in text
            principle = default_frameworks().item("equass", "rights")
            assert principle is not None
            assert t("after feedback on: {principle}", principle=principle.name(language)) in text
        inside(page)
        png = await posters.you_said_we_did(org, "de", "png")
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
        # Half a year on, nothing was done in the last quarter: one line, nothing drawn.
        clock.now += timedelta(days=183)
        with pytest.raises(SetupError, match="no improvement action done"):
            await posters.you_said_we_did(org, None, "pdf")
        assert await InviteRepo(db).list(org) == []  # it makes no link
    finally:
        await db.close()


def test_the_last_quarter() -> None:
    assert quarter_before(date(2026, 11, 30)) == date(2026, 8, 31)
    assert quarter_before(date(2026, 5, 31)) == date(2026, 3, 1)
    assert quarter_before(date(2026, 1, 15)) == date(2025, 10, 16)
