"""Rendering: every figure reaches every output in words a manager reads, Telegram accepts the
messages, the chart draws only what is shown, the report is one self-contained page.

The digests are the demo organisation's (half a year of answers), made once; rare cases
(a withheld group, a leaning figure's absence, hostile text, a long list of actions) are
the same digests changed with `dataclasses.replace`: rendering reads nothing else.
"""

from __future__ import annotations

import base64
import html.parser
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
import telegram
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.container import ErrorbarContainer

from bot.infra.i18n import LANGUAGES, translator
from bot.infra.message_split import split_message, units
from bot.infra.transport import AiohttpRequest
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_chart import build_figure, chart_rows, render_chart
from bot.services.digests.digest_model import (
    ActionLine,
    Change,
    Comment,
    Comparison,
    Digest,
    Figure,
    GroupScore,
    Participation,
    Span,
    WindowScores,
)
from bot.services.digests.digest_render import (
    digest_json,
    plain_text,
    render_all,
    report_html,
    telegram_html,
    telegram_messages,
)
from bot.services.digests.digest_trend import trend_charts
from tests.demo_digests import DemoDigests, demo_digests
from tests.fakebotapi import FakeBotAPI, parse_html

PNG = b"\x89PNG\r\n\x1a\n"
ALLOWED_TAGS = {"b", "i", "blockquote"}
# What a digest must never print: an interval of nothing, or a change of minus nothing.
NEVER = ("±0.0", "±0,0", "−0.0", "−0,0", "-0.0", "-0,0", "±0 ", "−0 ")
T = translator("en")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDigests:
    return demo_digests(tmp_path_factory.mktemp("demo"))


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


def spaced(text: str) -> str:
    """Babel's thin and no-break spaces as plain ones, to compare with text typed here."""
    return re.sub("[\u2009\u202f\u00a0]", " ", text)


def tags(text: str) -> set[str]:
    return {m.lower() for m in re.findall(r"</?([a-zA-Z][\w-]*)", text)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def blocks(message: str, digest: Digest, demo: DemoDigests) -> dict[str, list[str]]:
    """The Telegram text's rows under each item's heading, by item id."""
    names = {f"<b>{i.number}. {name(demo, i.item_id)}</b>": i.item_id for i in digest.items}
    found: dict[str, list[str]] = {}
    current = None
    for line in message.splitlines():
        if line in names:
            current = names[line]
            found[current] = []
        elif current is not None and (not line or line.startswith("<")):
            current = None
        elif current is not None:
            found[current].append(line)
    return found


def name(demo: DemoDigests, item_id: str, language: str = "en") -> str:
    return demo.frameworks.get("equass").items[item_id].name(language)


def shown_groups(digest: Digest) -> list[tuple[int, str, GroupScore]]:
    return [
        (index, audience, item.of(audience))
        for index, item in enumerate(digest.items)
        for audience in ("staff", "service_user")
        if item.of(audience).figure is not None
    ]


def test_every_figure_reaches_the_message_the_report_and_the_json(demo: DemoDigests) -> None:
    for digest in (demo.organisation, demo.unit):
        message = telegram_html(digest, demo.frameworks, "en")
        report = report_html(digest, demo.frameworks, "en", chart_png=b"")
        data = json.loads(digest_json(digest))
        rows = blocks(message, digest, demo)
        labels = {"staff": "Staff", "service_user": "Service users"}
        shown = shown_groups(digest)
        assert len(shown) >= 14
        for index, audience, group in shown:
            assert group.figure is not None
            item = digest.items[index]
            figure = formatting.figure(group.figure, T)
            assert re.fullmatch(r"\d\.\d ±(<0\.1|\d\.\d) · n \d+", figure), figure
            # In its item's rows, under its audience, in the message and in the report.
            row = f"{labels[audience]}: {html.escape(figure, quote=False)}"
            assert any(r.startswith(row) for r in rows[item.item_id])
            assert html.escape(figure, quote=False) in report
            key = "staff" if audience == "staff" else "service_users"
            assert data["items"][index][key]["figure"]["n"] == group.figure.n
            assert data["items"][index][key]["figure"]["mean"] == group.figure.mean
        assert "Scores of the window 7 Sept – 1 Nov 2026 (2026-W37–W44)" in spaced(message)
        assert "The next scores come on 28 Dec 2026." in spaced(message)
        staff = digest.participation.staff
        assert f"Staff: {staff} of {digest.participation.staff_enrolled} answered" in message
        users = digest.participation.service_users
        assert f"Service users: {users} responses in the window" in message
    assert data["window"] == {
        "start": "2026-09-07",
        "end": "2026-11-01",
        "first_week": "2026-W37",
        "last_week": "2026-W44",
        "weeks": 8,
    }
    assert set(data["coverage"]) == {"staff", "service_user"}


def test_an_audience_never_asked_about_an_item_has_no_row_there(demo: DemoDigests) -> None:
    digest = demo.organisation
    message = telegram_html(digest, demo.frameworks, "en")
    rows = blocks(message, digest, demo)
    not_asked = [i.item_id for i in digest.items if i.service_users.status == "not_asked"]
    asked = [i.item_id for i in digest.items if i.service_users.status != "not_asked"]

    assert len(not_asked) >= 3 and len(asked) >= 3
    assert set(digest.coverage["service_user"]) == set(asked)
    for item_id in not_asked:
        assert not [r for r in rows[item_id] if r.startswith("Service users:")], item_id
        assert [r for r in rows[item_id] if r.startswith("Staff:")], item_id
    for item_id in asked:
        assert len([r for r in rows[item_id] if r.startswith("Service users:")]) == 1
    users = ", ".join(name(demo, i) for i in digest.coverage["service_user"])
    assert f"<i>Service users are asked about: {users}.</i>" in message
    assert "<i>Staff are asked about all of these.</i>" in message


def test_changes_are_said_in_words() -> None:
    def group(now: float, then: float, change: Change | None) -> GroupScore:
        return GroupScore("shown", Figure(12, now, 0.3), Figure(11, then, 0.3), change)

    assert formatting.change_words(group(3.5, 3.1, Change(0.4, 0.2, True)), T) == "up from 3.1"
    assert formatting.change_words(group(3.2, 3.6, Change(-0.4, 0.2, True)), T) == "down from 3.6"
    assert formatting.change_words(group(3.3, 3.1, Change(0.2, 0.3, False)), T) == "steady"
    assert formatting.change_words(group(3.3, 3.1, None), T) is None
    # A real change too small for one decimal: the score before gets a second one.
    assert formatting.change_words(group(3.12, 3.08, Change(0.04, 0.01, True)), T) == (
        "up from 3.08"
    )
    sl = translator("sl")
    assert formatting.change_words(group(3.5, 3.1, Change(0.4, 0.2, True)), sl) == (
        "višje kot prej (3,1)"
    )


def test_the_message_says_each_change_in_its_row(demo: DemoDigests) -> None:
    digest = demo.unit
    rows = blocks(telegram_html(digest, demo.frameworks, "en"), digest, demo)
    directions = set()
    for index, audience, group in shown_groups(digest):
        words = formatting.change_words(group, T)
        if words is None:
            continue
        label = "Staff" if audience == "staff" else "Service users"
        row = next(r for r in rows[digest.items[index].item_id] if r.startswith(label))
        assert row.endswith(f", {words}")
        directions.add(words.split()[0])
    assert {"up", "steady"} <= directions


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_interval_of_zero_and_no_minus_zero_in_any_language(
    demo: DemoDigests, language: str
) -> None:
    for digest in (demo.organisation, demo.unit):
        outputs = (
            telegram_html(digest, demo.frameworks, language),
            plain_text(digest, demo.frameworks, language),
            report_html(digest, demo.frameworks, language, chart_png=b""),
        )
        for output in outputs:
            assert not [bad for bad in NEVER if bad in output]
        assert "±&lt;" in outputs[0]  # the demo has intervals narrower than a digit


@given(
    mean=st.floats(1, 5),
    half=st.one_of(st.none(), st.floats(0, 4)),
    value=st.floats(-4, 4),
    language=st.sampled_from(LANGUAGES),
)
def test_the_formats_never_print_nothing_as_a_number(
    mean: float, half: float | None, value: float, language: str
) -> None:
    t = translator(language)
    texts = [
        formatting.figure(Figure(7, mean, half), t),
        formatting.signed(value, language),
        formatting.magnitude(value, language),
        formatting.shift(Change(value, half, True), t),
        formatting.shift(Change(value, half, False), t),
    ]
    for text in texts:
        assert not [bad for bad in (*NEVER, "±0", "-0", "−0") if text.endswith(bad)], text
        assert not [bad for bad in NEVER if bad in text + " "], text
    if half is None:
        assert "±" not in texts[0] and texts[0].endswith(" · n 7")


def test_status_words_and_the_chart_show_only_what_is_shown(demo: DemoDigests) -> None:
    items = list(demo.organisation.items)
    items[0] = replace(items[0], staff=GroupScore("few"))
    items[2] = replace(items[2], service_users=GroupScore("withheld"), gap=None)
    items[3] = replace(items[3], staff=GroupScore("none"), gap=None)
    digest = replace(demo.organisation, items=tuple(items), gaps=())
    rows = blocks(telegram_html(digest, demo.frameworks, "en"), digest, demo)

    assert rows[items[0].item_id] == ["Staff: fewer than 5"]
    assert "Service users: withheld: it would reveal a smaller group" in rows[items[2].item_id]
    assert "Staff: no answers" in rows[items[3].item_id]

    axes = build_figure(digest, demo.frameworks, "en").axes[0]
    points = sorted(
        round(float(c.lines[0].get_xdata()[0]), 6)
        for c in axes.containers
        if isinstance(c, ErrorbarContainer)
    )
    drawn = [
        item.of(a) for item, audiences in chart_rows(digest) for a in audiences if item.of(a).shown
    ]
    assert points == sorted(round(g.figure.mean, 6) for g in drawn if g.figure)
    assert len(points) == len(shown_groups(digest))
    texts = [t.get_text() for t in axes.texts]
    assert {"fewer than 5", "withheld: it would reveal a smaller group", "no answers"} <= set(texts)
    # Service users are not asked about leadership: no row, not even a status, there.
    assert len(chart_rows(digest)[0][1]) == 1


def test_a_leaning_figure_is_marked_and_explained(demo: DemoDigests) -> None:
    unit = telegram_html(demo.unit, demo.frameworks, "en")
    leaning = [g for _i, _a, g in shown_groups(demo.unit) if g.figure and g.figure.leans]
    assert leaning
    for group in leaning:
        assert group.figure is not None
        assert f"{html.escape(formatting.figure(group.figure, T), quote=False)} †" in unit
    assert "\n† leans on the organisation's score: few answers\n" in parse_html(unit).text
    organisation = telegram_html(demo.organisation, demo.frameworks, "en")
    assert "†" not in organisation  # an organisation's figures lean on nothing


def test_only_real_gaps_are_listed_with_their_rule(demo: DemoDigests) -> None:
    digest = demo.organisation
    message = telegram_html(digest, demo.frameworks, "en")
    flagged = [i for i in digest.items if i.flagged_gap]
    unflagged = [i for i in digest.items if i.gap is not None and not i.flagged_gap]

    assert flagged and unflagged
    assert "Where the two differ by at least 0.75 and by more than their 90% interval." in message
    for item in flagged:
        staff, users = (formatting.score(g.mean, "en") for g in (item.staff, item.service_users))
        assert f"• {name(demo, item.item_id)}: staff {staff}, service users {users}" in message
    for item in unflagged:
        assert f"• {name(demo, item.item_id)}:" not in message
    quiet = telegram_html(replace(digest, gaps=()), demo.frameworks, "en")
    assert "see it differently" not in quiet


def test_withheld_counts_are_said_to_be_withheld(demo: DemoDigests) -> None:
    digest = replace(demo.unit, participation=Participation(None, 14, None))
    message = telegram_html(digest, demo.frameworks, "en")

    assert "Staff: withheld to protect a group of fewer than 5" in message
    assert "Service users: withheld to protect a group of fewer than 5" in message
    assert "None" not in message


def test_comments_carry_their_audience_and_principles(demo: DemoDigests) -> None:
    comments = (
        Comment("service_user", "Warmer meals, please.", ("rights", "ethics")),
        Comment("staff", "More time for handovers.", ()),
    )
    digest = replace(demo.organisation, comments=comments)
    message = telegram_html(digest, demo.frameworks, "en")
    report = report_html(digest, demo.frameworks, "de", chart_png=b"")

    assert (
        "<blockquote><i>Service user · Rights, Ethics:</i> Warmer meals, please.</blockquote>"
        in (message)
    )
    assert "<blockquote><i>Staff:</i> More time for handovers.</blockquote>" in message
    assert '<span class="who">Klient(in) · Rechte, Ethik</span>Warmer meals, please.' in report


def test_a_done_action_is_checked_against_the_window(demo: DemoDigests) -> None:
    def done(n: int, baseline: float | None, now: float | None) -> ActionLine:
        return ActionLine(
            n, "done", f"Action {n}", None, "done", "equass", "rights", None,
            None, date(2026, 10, 1), baseline, now,
        )  # fmt: skip

    actions = (done(1, 3.0, None), done(2, 3.0, 3.4), done(3, 3.42, 3.40), done(4, None, 3.5))
    digest = replace(demo.organisation, actions=actions)
    message = telegram_html(digest, demo.frameworks, "en")

    assert "✅ Check: <b>Action 1</b> · Rights: not enough answers in this window to compare" in (
        message
    )
    assert "<b>Action 2</b> · Rights: 3.0 → 3.4 (+0.4)" in message
    assert "<b>Action 3</b> · Rights: 3.4 → 3.4 (0.0)" in message
    assert "<b>Action 4</b> · Rights: no baseline to compare with" in message


async def test_messages_pass_the_fake_bot_api(demo: DemoDigests, fake_api: FakeBotAPI) -> None:
    user = fake_api.new_user("Maja", language_code="sl")
    fake_api.add_private_chat(user)
    digest = demo.organisation
    async with telegram.Bot(**fake_api.bot_kwargs(), request=AiohttpRequest()) as bot:
        for language in LANGUAGES:
            rendered = render_all(digest, demo.frameworks, language)
            assert [i for i, _name in rendered.weak_items] == list(digest.weak_items)
            for text in rendered.messages:
                await bot.send_message(user.id, text, parse_mode="HTML")
            await bot.send_photo(user.id, rendered.chart_png)
            await bot.send_document(
                user.id, rendered.report_html.encode(), filename=rendered.report_name
            )
    fake_api.assert_no_errors()
    texts = [m.text for m in fake_api.messages(user.id) if m.text and m.file is None]
    assert len(texts) == len(LANGUAGES)
    assert all(len(t) <= 4096 for t in texts)
    assert all("Demo Care Home" in t for t in texts)


def test_the_message_uses_only_telegram_tags_each_closed_on_its_line(demo: DemoDigests) -> None:
    for digest in (demo.organisation, demo.unit):
        for language in LANGUAGES:
            for message in telegram_messages(digest, demo.frameworks, language):
                assert tags(message) <= ALLOWED_TAGS
                parsed = parse_html(message)
                assert len(parsed.text) <= 4096
                assert {e["type"] for e in parsed.entities} <= {"bold", "italic", "blockquote"}
                for line in message.splitlines():
                    parse_html(line)  # so the message may be split between any two lines


def test_a_long_digest_is_split_between_lines(demo: DemoDigests) -> None:
    title = "Work with families on the move to the new house & <check> every step " * 2
    actions = tuple(
        ActionLine(
            n, "open", f"{n} {title}", "Team <A>", "open", "equass", "rights", None,
            date(2027, 1, 4), None, None, None,
        )
        for n in range(60)
    )  # fmt: skip
    digest = replace(demo.organisation, actions=actions)
    whole = telegram_html(digest, demo.frameworks, "en")
    messages = telegram_messages(digest, demo.frameworks, "en")

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


def test_numbers_dates_and_words_follow_the_language(demo: DemoDigests) -> None:
    digest = demo.organisation
    text = plain_text(digest, demo.frameworks, "sl")
    sl = translator("sl")
    rights = digest.item("rights")
    assert rights.staff.figure is not None
    figure = formatting.figure(rights.staff.figure, sl)
    assert re.fullmatch(r"\d,\d ±(<0,1|\d,\d) · n \d+", figure)
    assert f"Zaposleni: {figure}" in text
    assert "7. sep.–1. nov. 2026 (2026-W37–W44)" in text  # as Slovenian writes a range of days
    for heading in ("Quality digest", "Scores", "Strongest and weakest", "Improvement actions"):
        assert sl(heading) != heading and sl(heading) in text


def test_weeks_beside_the_dates_name_the_year_once_unless_it_changes() -> None:
    same = Span(date(2026, 9, 7), date(2026, 11, 1), "2026-W37", "2026-W44", 8)
    across = Span(date(2025, 12, 1), date(2026, 1, 25), "2025-W49", "2026-W04", 8)
    assert formatting.span_weeks(same) == "2026-W37–W44"
    assert formatting.span_weeks(across) == "2025-W49–2026-W04"
    assert spaced(formatting.span_dates(across, "de")) == "1. Dez. 2025 – 25. Jan. 2026"


def test_the_report_is_self_contained(demo: DemoDigests) -> None:
    digest = demo.organisation
    report = report_html(digest, demo.frameworks, "de")

    class Collect(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sources: list[str] = []
            self.tags: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)
            for name, value in attrs:
                if name in ("src", "href") and value:
                    self.sources.append(value)

    parser = Collect()
    parser.feed(report)
    assert report.startswith("<!DOCTYPE html>")
    assert '<html lang="de">' in report
    assert "@media print" in report and "@media (max-width" in report
    assert len(parser.sources) == 1 and parser.sources[0].startswith("data:image/png;base64,")
    chart = base64.b64decode(parser.sources[0].split(",", 1)[1])
    assert png_size(chart)[0] == 1200
    assert "http://" not in report and "https://" not in report
    assert "script" not in parser.tags
    # One trend picture per principle some audience is asked about, scaled by its viewBox.
    assert parser.tags.count("svg") == len(digest.items) == 10
    assert report.count('viewBox="0 0 280 150" width="100%"') == 10
    assert translator("de")("Demo data") in report


def test_the_trend_draws_shown_windows_and_leaves_gaps(demo: DemoDigests) -> None:
    start = date(2025, 3, 3)
    spans = [
        Span(start + timedelta(weeks=8 * n), start + timedelta(weeks=8 * n + 8, days=-1),
             "x", "y", 8)
        for n in range(12)
    ]  # fmt: skip
    count = len(demo.organisation.items)
    staff = [Figure(20, 3.0 + 0.1 * n, 0.2) if n != 5 else None for n in range(12)]
    trend = tuple(
        WindowScores(span, (figure,) + (None,) * (count - 1), (None,) * count)
        for span, figure in zip(spans, staff, strict=True)
    )
    coverage = {"staff": ("leadership",), "service_user": ("leadership", "rights")}
    digest = replace(demo.organisation, trend=trend, coverage=coverage)
    charts = trend_charts(digest, {i.item_id: i.item_id for i in digest.items}, T)

    assert [c.item_id for c in charts] == ["leadership", "rights"]  # only items asked about
    leadership, rights = (str(c.svg) for c in charts)
    assert leadership.count("<polyline") == 2  # window 6 is not shown: the line breaks there
    assert leadership.count("<circle") == 11  # a staff point per shown window
    assert "<rect" not in leadership  # service users have no score in any window
    assert "no scores in these windows" in rights
    assert "<title>leadership: staff and service users, window by window</title>" in leadership
    # Four labels, the newest window's last; the year under the first and where it changes.
    months = re.findall(r">([A-Z][a-z]+)<", leadership)
    assert months == ["Jun", "Dec", "May", "Nov"]
    assert re.findall(r">(\d{4})<", leadership) == ["2025", "2026"]


def test_comparisons_where_the_data_exist(demo: DemoDigests) -> None:
    digest = demo.organisation
    count = len(digest.items)
    back = Span(date(2026, 3, 9), date(2026, 5, 3), "2026-W11", "2026-W18", 8)
    half_year = Comparison(
        "half_year",
        back,
        (Change(0.42, 0.2, True),) + (None,) * (count - 1),
        (None, None, Change(-0.05, 0.2, False)) + (None,) * (count - 3),
    )
    report = report_html(replace(digest, comparisons=(half_year,)), demo.frameworks, "en", b"")

    assert "<h3>Half a year ago: 9 Mar – 3 May 2026 (2026-W11–W18)</h3>" in spaced(report)
    assert "<li><strong>Leadership</strong>: Staff: up by 0.4</li>" in report
    assert "<strong>Rights</strong>: Staff: not enough data · Service users: steady" in report
    assert '<h3>A year ago</h3>\n<p class="none">not enough data</p>' in report
    nothing = report_html(replace(digest, comparisons=()), demo.frameworks, "en", b"")
    assert nothing.count('<p class="none">not enough data</p>') == 2


def test_the_chart_is_a_phone_sized_png(demo: DemoDigests) -> None:
    png = render_chart(demo.unit, demo.frameworks, "lt")
    width, height = png_size(png)
    assert width == 1200
    assert 900 <= height <= 3000
    assert len(png) > 20_000


def test_a_hostile_name_is_text_everywhere(demo: DemoDigests) -> None:
    hostile = 'Home <script>alert(1)</script> & "Co"'
    comment = "</blockquote><a href='x'>click</a>"
    digest = replace(
        demo.organisation,
        org_name=hostile,
        comments=(Comment("service_user", comment, ("rights",)),),
    )
    for message in telegram_messages(digest, demo.frameworks, "en"):
        parsed = parse_html(message)
        assert hostile in parsed.text
        assert comment in parsed.text
        assert tags(message) <= ALLOWED_TAGS
    report = report_html(digest, demo.frameworks, "en", chart_png=b"")
    assert "<script>" not in report and "<a href='x'>" not in report
    assert "Home &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;" in report
