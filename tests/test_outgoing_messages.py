"""Every text the bot sends is valid for Telegram, whatever it quotes.

The splitter is checked against the fake Bot API's strict HTML parser on any text
our renderers could make (escaped text of any script and length, inside any tags);
then uploads with hostile keys, values and file names go through the real bot, whose
replies quote them, and the fake Bot API (strict about HTML and lengths) must accept
every one.
"""

from __future__ import annotations

import asyncio
import tempfile
from html import escape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.infra.message_split import split_message, units
from storage.people import PeopleRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.html import parse_html
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness

TAGS = ("b", "i", "code", "u", "s", "pre")
text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=300
)


@st.composite
def html_lines(draw: st.DrawFn) -> str:
    """Lines as our renderers make them: escaped text, maybe inside tags, maybe nested."""
    lines = []
    for _ in range(draw(st.integers(0, 40))):
        body = escape(draw(text))
        for tag in draw(st.lists(st.sampled_from(TAGS), max_size=2)):
            body = f"<{tag}>{body}</{tag}>"
        lines.append(body)
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(html_lines(), st.integers(min_value=60, max_value=4096))
def test_every_piece_parses_and_nothing_is_lost(html: str, limit: int) -> None:
    pieces = split_message(html, limit)
    for piece in pieces:
        assert units(piece) <= limit
        parse_html(piece)  # raises on a cut tag or entity
    whole = "".join(parse_html(html).text.split())
    assert "".join("".join(parse_html(p).text.split()) for p in pieces) == whole


def test_a_tag_open_at_a_cut_is_closed_and_opened_again() -> None:
    pieces = split_message("<code>" + "x " * 100 + "</code>", limit=50)
    assert len(pieces) > 1
    assert all(p.startswith("<code>") and p.endswith("</code>") for p in pieces)
    assert split_message("&amp;" * 30, limit=12) == ["&amp;&amp;"] * 15


# ---------------------------------------------------------------- through the real bot

keys = st.one_of(
    st.text(min_size=1, max_size=80),
    st.just("k" * 3000),
    st.sampled_from(["🙂🙂🙂", "<b>", "</code>", "a&b", "&amp;", "<i>x</i>", "x" * 600]),
)
values = st.one_of(st.text(max_size=200), st.sampled_from(["<b>bold", "</code>", "&lt", "é" * 900]))
names = st.one_of(
    st.text(min_size=1, max_size=120).map(lambda n: n + ".yaml"),
    st.sampled_from(["<b>.yaml", "&x;.yaml", "🙂.yaml", "a" * 300 + ".yaml"]),
)


def yaml_scalar(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes]:
    """A script file whose errors quote hostile keys and values back to the admin."""
    entries = draw(st.lists(st.tuples(keys, values), min_size=1, max_size=25))
    lines = ["id: staff-pulse", "audience: staff"]
    lines += [f"{yaml_scalar(key)}: {yaml_scalar(value)}" for key, value in entries]
    return draw(names), "\n".join(lines).encode("utf-8", "surrogatepass")


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(uploads(), min_size=1, max_size=6))
def test_uploads_quoted_back_are_valid_messages(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_upload_all(files, Path(directory)))


async def _upload_all(files: list[tuple[str, bytes]], directory: Path) -> None:
    async with FakeBotAPI() as api:
        bot = Harness(api, directory, FakeClock())
        await bot.start()
        try:
            admin = bot.user("Ada")
            person = await PeopleRepo(bot.rt.db).get_or_create(admin.id, "en")
            await PeopleRepo(bot.rt.db).add_membership(person.id, None, None, "admin")
            for name, data in files:
                before = len(api.messages(admin.id))
                api.send_document(admin, data, file_name=name)
                await api.wait_for(lambda before=before: len(api.messages(admin.id)) > before, 15)
                await asyncio.sleep(0.05)  # the rest of a long reply
        finally:
            await bot.stop()
        api.assert_no_errors()
        texts = [m.text or "" for m in api.messages(admin.id)]
        assert not [t for t in texts if "Something went wrong" in t]
