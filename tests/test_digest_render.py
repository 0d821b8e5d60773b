"""Rendering: the numbers reach every output, Telegram accepts the messages, the chart is a PNG."""

from __future__ import annotations

import base64
import html.parser
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import telegram
from matplotlib.patches import Rectangle

from bot.infra.config import load_settings
from bot.infra.i18n import translator
from bot.infra.message_split import split_message, units
from bot.infra.transport import AiohttpRequest
from bot.services.digests import locale_format as formatting
from bot.services.digests.demo_data import DemoResult, create_demo
from bot.services.digests.digest_access import CONSOLE
from bot.services.digests.digest_chart import build_figure, render_chart
from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_model import Digest
from bot.services.digests.digest_render import (
    digest_json,
    plain_text,
    render_all,
    report_html,
    telegram_html,
    telegram_messages,
)
from bot.services.digests.improvement_actions import plan_action
from bot.services.runtime import Runtime, open_runtime
from storage.orgs import OrgRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi import FakeBotAPI, parse_html
from tests.test_digest import NOW, TODAY, add_session, count_by_hand, shown

CLOCK = FakeClock()

PNG = b"\x89PNG\r\n\x1a\n"
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote"}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings({"CARECHECK_DB": str(tmp_path / "carecheck.db")})
    async with open_runtime(settings, CLOCK) as opened:
        yield opened


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def demo(runtime: Runtime) -> DemoResult:
    return await create_demo(runtime.db, runtime.scripts, runtime.frameworks, today=TODAY, seed=7)


@pytest.fixture
async def digest(runtime: Runtime, demo: DemoResult) -> Digest:
    return await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)


def tags(text: str) -> set[str]:
    return {m.lower() for m in re.findall(r"</?([a-zA-Z][\w-]*)", text)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def test_the_numbers_reach_every_output(
    runtime: Runtime, demo: DemoResult, digest: Digest
) -> None:
    groups = await runtime.db.run(lambda conn: count_by_hand(conn, demo.org_id, None, "equass"))
    text = plain_text(digest, runtime.frameworks, "en")
    message = telegram_html(digest, runtime.frameworks, "en")
    report = report_html(digest, runtime.frameworks, "en", chart_png=b"")
    data = json.loads(digest_json(digest))
    names = {i.id: i.name("en") for i in runtime.frameworks.get("equass").items.values()}

    assert f"Staff: {digest.staff_answered} of 40 answered" in text
    assert f"{digest.service_user_responses} service-user responses" in text
    shown_groups = 0
    for index, item in enumerate(digest.items):
        cells = []
        for audience, key in (("staff", "staff"), ("service_user", "service_users")):
            expected = shown(groups, (digest.period, item.item_id, audience), digest.k)
            n = groups.get((digest.period, item.item_id, audience), (0, 0.0))[0]
            assert data["items"][index][key]["mean"] == expected
            assert data["items"][index][key]["n"] == n
            group = getattr(item, key)
            if expected is None:
                cells.append("fewer than 5" if 0 < n < 5 else "—")
                continue
            shown_groups += 1
            cell = formatting.score(expected, "en")
            if group.delta is not None:
                cell += f" ({formatting.change(group.delta, 'en')})"
            cells.append(cell)
            # The report has two decimals and the number of people.
            assert f"<td>{expected:.2f}</td><td>{n}</td>" in report
        if item.has_answers:
            assert f"{names[item.item_id]}: {cells[0]} / {cells[1]}" in text
            assert f"<b>{names[item.item_id]}</b>: {cells[0]} / {cells[1]}" in message
    assert shown_groups >= 10
    rights = digest.item("rights")
    assert (
        f"Rights: staff {rights.staff.mean:.1f}, service users {rights.service_users.mean:.1f}"
        in text
    )


async def test_numbers_and_names_follow_the_language(runtime: Runtime, digest: Digest) -> None:
    text = plain_text(digest, runtime.frameworks, "sl")
    rights = digest.item("rights")
    assert f"Pravice: {formatting.score(rights.staff.mean, 'sl')}" in text
    assert f"{rights.staff.mean:.1f}".replace(".", ",") in text
    assert "16.–22. nov. 2026" in text  # the week's days, as Slovenian writes them
    t = translator("sl")
    for heading in ("Weekly digest", "Scores", "Strongest", "Improvement actions"):
        assert t(heading) != heading and t(heading) in text


async def test_messages_pass_the_fake_bot_api(
    runtime: Runtime, digest: Digest, fake_api: FakeBotAPI
) -> None:
    user = fake_api.new_user("Maja", language_code="sl")
    fake_api.add_private_chat(user)
    async with telegram.Bot(**fake_api.bot_kwargs(), request=AiohttpRequest()) as bot:
        for language in ("en", "sl", "de", "cs", "lt"):
            rendered = render_all(digest, runtime.frameworks, language)
            assert [i for i, _name in rendered.weak_items] == list(digest.weakest)
            for text in rendered.messages:
                await bot.send_message(user.id, text, parse_mode="HTML")
            await bot.send_photo(user.id, rendered.chart_png)
            await bot.send_document(
                user.id, rendered.report_html.encode(), filename=rendered.report_name
            )
    fake_api.assert_no_errors()
    texts = [m.text for m in fake_api.messages(user.id) if m.text and m.file is None]
    assert len(texts) == 5
    assert all(len(t) <= 4096 for t in texts)
    assert all("Demo Care Home" in t for t in texts)


async def test_the_message_uses_only_telegram_tags(runtime: Runtime, digest: Digest) -> None:
    for language in ("en", "sl", "de", "cs", "lt"):
        for message in telegram_messages(digest, runtime.frameworks, language):
            assert tags(message) <= ALLOWED_TAGS
            parsed = parse_html(message)
            assert len(parsed.text) <= 4096
            assert {e["type"] for e in parsed.entities} <= {"bold", "italic", "blockquote"}


async def test_a_long_digest_is_split_between_lines(runtime: Runtime, demo: DemoResult) -> None:
    title = "Work with families on the move to the new house & <check> every step " * 2
    for n in range(60):
        await plan_action(
            runtime.db, runtime.frameworks, CONSOLE, org_id=demo.org_id, unit_id=None,
            framework="equass", item_id="rights", title=f"{n} {title}", owner="Team <A>",
            weeks=8, today=TODAY,
        )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, demo.org_id, now=NOW)
    whole = telegram_html(digest, runtime.frameworks, "en")
    messages = telegram_messages(digest, runtime.frameworks, "en")

    assert units(whole) > 4096
    assert len(messages) >= 3
    for message in messages:
        assert units(message) <= 4096
        parse_html(message)  # each part parses on its own
    lines = [line for line in whole.splitlines() if line.strip()]
    assert [line for m in messages for line in m.splitlines() if line.strip()] == lines
    assert "&amp; &lt;check&gt;" in messages[-1]


def test_split_prefers_section_breaks_and_counts_utf16() -> None:
    sections = ["\n".join(f"📊 <b>{s}</b> line {n} " + "x" * 40 for n in range(15)) for s in "ABC"]
    messages = split_message("\n\n".join(sections), limit=1200)
    assert all(units(m) <= 1200 for m in messages)
    # Each section fits alone, so no message mixes the end of one with the start of another.
    assert [m.split("</b>")[0][-1] for m in messages] == ["A", "B", "C"]
    # A line longer than a message goes on in the next one: nothing is cut away.
    long = split_message("<b>x</b>\n" + "é" * 5000, limit=100)
    assert all(units(m) <= 100 for m in long)
    assert "".join(long[1:]) == "é" * 5000


async def test_the_report_is_self_contained(runtime: Runtime, digest: Digest) -> None:
    report = report_html(digest, runtime.frameworks, "de")

    class Collect(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sources: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if name in ("src", "href") and value:
                    self.sources.append(value)

    parser = Collect()
    parser.feed(report)
    assert report.startswith("<!DOCTYPE html>")
    assert '<html lang="de">' in report
    assert "@media print" in report
    assert len(parser.sources) == 1 and parser.sources[0].startswith("data:image/png;base64,")
    chart = base64.b64decode(parser.sources[0].split(",", 1)[1])
    assert png_size(chart)[0] == 1200
    assert "http://" not in report and "https://" not in report
    assert translator("de")("Demo data") in report


async def test_the_chart_is_a_phone_sized_png(runtime: Runtime, digest: Digest) -> None:
    png = render_chart(digest, runtime.frameworks, "lt")
    width, height = png_size(png)
    assert width == 1200
    assert 900 <= height <= 3000
    assert len(png) > 20_000


async def test_the_chart_draws_a_bar_only_for_groups_shown(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org("Small", k=5)
    for _ in range(3):
        await add_session(
            runtime, org_id, "service_user", None, "2026-W47", [("su_safe", 2.0, None)]
        )
    for _ in range(6):
        await add_session(
            runtime, org_id, "service_user", None, "2026-W47", [("su_say", 4.0, None)]
        )
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    figure = build_figure(digest, runtime.frameworks, "en")
    axes = figure.axes[0]
    bars = [p for p in axes.patches if isinstance(p, Rectangle)]
    texts = [t.get_text() for t in axes.texts]

    shown_means = [
        g.mean for i in digest.items if i.has_answers for g in (i.staff, i.service_users) if g.mean
    ]
    assert sorted(round(b.get_x() + b.get_width(), 2) for b in bars) == sorted(shown_means)
    assert shown_means == [4.0, 4.0]  # participation and person-centred, not rights
    assert "fewer than 5" in texts
    assert "2.0" not in texts


async def test_a_hostile_name_is_text_everywhere(runtime: Runtime) -> None:
    org_id = await OrgRepo(runtime.db).create_org('Home <script>alert(1)</script> & "Co"', k=1)
    await add_session(
        runtime, org_id, "service_user", None, "2026-W47",
        [("su_safe", 4.0, None), ("su_better", None, "</blockquote><a href='x'>click</a>")],
    )  # fmt: skip
    digest = await compute_digest(runtime.db, runtime.frameworks, org_id, None, "2026-W47")
    for message in telegram_messages(digest, runtime.frameworks, "en"):
        parsed = parse_html(message)
        assert 'Home <script>alert(1)</script> & "Co"' in parsed.text
        assert "</blockquote><a href='x'>click</a>" in parsed.text
        assert tags(message) <= {"b", "i", "blockquote"}
    report = report_html(digest, runtime.frameworks, "en", chart_png=b"")
    assert "<script>" not in report and "<a href='x'>" not in report
