"""The fake Bot API holds a real PTB bot to Telegram's rules and injects faults on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import telegram
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter

from bot.infra.transport import AiohttpRequest
from tests.fakebotapi import EntityParseError, FakeBotAPI, FloodControl, User, parse_html

pytest_plugins = ["tests.fakebotapi.fixtures"]


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    """A real PTB bot on the aiohttp transport, pointed at the fake server."""
    instance = telegram.Bot(
        **fake_api.bot_kwargs(),
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    async with instance:
        yield instance


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (text, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- limits


Call = Callable[[telegram.Bot, User], Awaitable[Any]]


async def _edit_to_same(bot: telegram.Bot, user: User) -> None:
    markup = keyboard([("Yes", "y")])
    sent = await bot.send_message(user.id, "<b>Same</b>", parse_mode="HTML", reply_markup=markup)
    await bot.edit_message_text(
        "<b>Same</b>", user.id, sent.message_id, parse_mode="HTML", reply_markup=markup
    )


async def _markup_to_same(bot: telegram.Bot, user: User) -> None:
    markup = keyboard([("Yes", "y")])
    sent = await bot.send_message(user.id, "Question", reply_markup=markup)
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=markup)


LIMIT_CASES: list[tuple[str, Call, str]] = [
    (
        "text over 4096",
        lambda bot, user: bot.send_message(user.id, "x" * 4097),
        "Bad Request: message is too long",
    ),
    (
        "HTML text over 4096 after parsing",
        lambda bot, user: bot.send_message(user.id, "&amp;" * 4097, parse_mode="HTML"),
        "Bad Request: message is too long",
    ),
    (
        "text empty after parsing",
        lambda bot, user: bot.send_message(user.id, "<b> </b>", parse_mode="HTML"),
        "Bad Request: message text is empty",
    ),
    (
        "caption over 1024",
        lambda bot, user: bot.send_document(user.id, b"data", filename="a.txt", caption="c" * 1025),
        "Bad Request: message caption is too long",
    ),
    (
        "unsupported HTML tag",
        lambda bot, user: bot.send_message(user.id, "<div>x</div>", parse_mode="HTML"),
        'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0',
    ),
    (
        "unclosed HTML tag",
        lambda bot, user: bot.send_message(user.id, "<b>bold", parse_mode="HTML"),
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag",
    ),
    (
        "callback_data over 64 bytes in fewer characters",
        lambda bot, user: bot.send_message(user.id, "Q", reply_markup=keyboard([("A", "č" * 33)])),
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "nine buttons in a row",
        lambda bot, user: bot.send_message(
            user.id, "Q", reply_markup=keyboard([(str(i), str(i)) for i in range(9)])
        ),
        "Bad Request: reply markup is too long",
    ),
    (
        "more than 100 buttons",
        lambda bot, user: bot.send_message(
            user.id,
            "Q",
            reply_markup=keyboard(
                *[[(f"{r}.{c}", f"{r}.{c}") for c in range(8)] for r in range(13)]
            ),
        ),
        "Bad Request: reply markup is too long",
    ),
    (
        "button without text",
        lambda bot, user: bot.send_message(user.id, "Q", reply_markup=keyboard([("", "a")])),
        "Bad Request: BUTTON_TEXT_INVALID",
    ),
    ("edit to identical text and markup", _edit_to_same, "Bad Request: message is not modified"),
    ("edit markup to the same", _markup_to_same, "Bad Request: message is not modified"),
    (
        "edit an unknown message",
        lambda bot, user: bot.edit_message_text("New", user.id, 999),
        "Bad Request: message to edit not found",
    ),
    (
        "command with upper case",
        lambda bot, user: bot.set_my_commands([BotCommand("Start", "Begin")]),
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    (
        "command with a slash",
        lambda bot, user: bot.set_my_commands([BotCommand("/start", "Begin")]),
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    (
        "command over 32 characters",
        lambda bot, user: bot.set_my_commands([BotCommand("a" * 33, "Begin")]),
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    (
        "command with empty description",
        lambda bot, user: bot.set_my_commands([BotCommand("start", "")]),
        "Bad Request: command description must be non-empty",
    ),
    (
        "command description over 256",
        lambda bot, user: bot.set_my_commands([BotCommand("start", "d" * 257)]),
        "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
    ),
    (
        "more than 100 commands",
        lambda bot, user: bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)]),
        "Bad Request: BOT_COMMANDS_TOO_MUCH",
    ),
    (
        "unknown chat",
        lambda bot, user: bot.send_message(424242, "Hello"),
        "Bad Request: chat not found",
    ),
]


@pytest.mark.parametrize(
    ("call", "expected"), [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES]
)
async def test_limit_returns_telegrams_error(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User, call: Call, expected: str
) -> None:
    with pytest.raises(BadRequest):
        await call(bot, fake_api_user)
    assert len(fake_api.errors) == 1
    _method, description = fake_api.errors[0]
    assert description.startswith(expected), description


BOUNDARY_CASES: list[tuple[str, Call]] = [
    ("text of exactly 4096", lambda bot, user: bot.send_message(user.id, "x" * 4096)),
    (
        "HTML longer than 4096 with tags, 4096 after parsing",
        lambda bot, user: bot.send_message(
            user.id, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML"
        ),
    ),
    (
        "caption of exactly 1024",
        lambda bot, user: bot.send_document(user.id, b"data", filename="a.txt", caption="c" * 1024),
    ),
    (
        "callback_data of exactly 64 bytes",
        lambda bot, user: bot.send_message(user.id, "Q", reply_markup=keyboard([("A", "č" * 32)])),
    ),
    (
        "eight buttons in a row, 100 in all",
        lambda bot, user: bot.send_message(
            user.id,
            "Q",
            reply_markup=keyboard(
                *[[(f"{r}.{c}", f"{r}.{c}") for c in range(8)] for r in range(12)],
                [(f"x{c}", f"x{c}") for c in range(4)],
            ),
        ),
    ),
    (
        "100 commands of 32 characters with 256-character descriptions",
        lambda bot, user: bot.set_my_commands(
            [BotCommand(f"{i:02d}" + "a" * 30, "d" * 256) for i in range(100)]
        ),
    ),
]


@pytest.mark.parametrize("call", [c[1] for c in BOUNDARY_CASES], ids=[c[0] for c in BOUNDARY_CASES])
async def test_values_at_the_limit_are_accepted(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User, call: Call
) -> None:
    await call(bot, fake_api_user)
    fake_api.assert_no_errors()


async def test_message_state_follows_sends_and_edits(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    chat_id = fake_api_user.id
    first = await bot.send_message(chat_id, "<b>1/5</b> Question", parse_mode="HTML")
    second = await bot.send_message(
        chat_id, "Next", reply_markup=keyboard([("Yes", "y"), ("No", "n")])
    )
    assert second.message_id > first.message_id
    assert first.text == "1/5 Question"
    assert first.entities[0].type == "bold" and first.entities[0].length == 3
    assert first.from_user.id == bot.id

    edited = await bot.edit_message_text("2/5", chat_id, second.message_id)
    assert edited.text == "2/5" and edited.reply_markup is None

    stored = fake_api.message(chat_id, second.message_id)
    assert stored.text == "2/5" and stored.edits == 1 and stored.buttons == []
    assert stored.versions[0]["text"] == "Next"
    assert [m.message_id for m in fake_api.messages(chat_id)] == [
        first.message_id,
        second.message_id,
    ]
    assert fake_api.last_message(chat_id) is stored

    await bot.delete_message(chat_id, first.message_id)
    assert [m.message_id for m in fake_api.messages(chat_id)] == [second.message_id]
    fake_api.assert_no_errors()


async def test_callback_query_is_answered_once(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    sent = await bot.send_message(fake_api_user.id, "Q", reply_markup=keyboard([("Yes", "ans:y")]))
    query_id = fake_api.press(
        fake_api_user, fake_api.message(fake_api_user.id, sent.message_id), "ans:y"
    )
    (update,) = await bot.get_updates()
    assert update.callback_query.id == query_id and update.callback_query.data == "ans:y"
    assert update.callback_query.message.message_id == sent.message_id
    assert fake_api.unanswered_callbacks() == [query_id]

    assert await bot.answer_callback_query(query_id, text="Saved")
    assert fake_api.callback_answers[query_id]["text"] == "Saved"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert fake_api.errors == [
        (
            "answerCallbackQuery",
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )
    ]


async def test_callback_answer_text_is_limited(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    sent = await bot.send_message(fake_api_user.id, "Q", reply_markup=keyboard([("Yes", "y")]))
    query_id = fake_api.press(fake_api_user, sent.message_id, "y")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query(query_id, text="t" * 201)
    assert await bot.answer_callback_query(query_id, text="t" * 200)


async def test_callback_answer_window_is_15_seconds() -> None:
    clock = FakeClock()
    async with FakeBotAPI(clock=clock) as server:
        user = server.new_user()
        server.add_private_chat(user)
        late = telegram.Bot(**server.bot_kwargs(), request=AiohttpRequest())
        async with late:
            sent = await late.send_message(user.id, "Q", reply_markup=keyboard([("Yes", "y")]))
            query_id = server.press(user, sent.message_id, "y")
            clock.now += 15.5
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await late.answer_callback_query(query_id)


async def test_press_refuses_a_button_the_message_does_not_show(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    sent = await bot.send_message(fake_api_user.id, "Q", reply_markup=keyboard([("Yes", "y")]))
    with pytest.raises(ValueError, match="has no button"):
        fake_api.press(fake_api_user, sent.message_id, "admin:delete")
    forged = fake_api.press(fake_api_user, sent, "admin:delete", check=False)
    (update,) = await bot.get_updates()
    assert update.callback_query.id == forged and update.callback_query.data == "admin:delete"


async def test_commands_are_stored_per_scope_and_language(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "Začni")], language_code="sl")
    admin_scope = BotCommandScopeChat(fake_api_user.id)
    await bot.set_my_commands(
        [BotCommand("start", "Start"), BotCommand("publish", "Publish")], scope=admin_scope
    )
    assert [c.description for c in await bot.get_my_commands(language_code="sl")] == ["Začni"]
    assert [c.command for c in await bot.get_my_commands(scope=admin_scope)] == ["start", "publish"]
    assert await bot.get_my_commands(language_code="de") == ()
    assert fake_api.commands_for(language_code="sl") == [
        {"command": "start", "description": "Začni"}
    ]
    assert (
        fake_api.commands_for({"type": "chat", "chat_id": fake_api_user.id})[1]["command"]
        == "publish"
    )
    await bot.delete_my_commands(language_code="sl")
    assert fake_api.commands_for(language_code="sl") == []
    fake_api.assert_no_errors()


async def test_blocked_user_and_left_group_answer_403(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    fake_api.block(fake_api_user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(fake_api_user.id, "Hello?")
    fake_api.send_command(fake_api_user, "/start")
    await bot.send_message(fake_api_user.id, "Welcome back")

    group = fake_api.add_group("Care team")
    await bot.send_chat_action(group["id"], "typing")
    assert await bot.leave_chat(group["id"])
    with pytest.raises(Forbidden):
        await bot.send_message(group["id"], "Still here?")
    assert fake_api.chat_actions == [(group["id"], "typing")]


async def test_unknown_method_is_404_and_recorded(fake_api: FakeBotAPI, bot: telegram.Bot) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake_api.api_base_url}{fake_api.token}/sendTeleport"
        ) as response:
            body = await response.json()
        assert response.status == 404
        assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with session.post(f"{fake_api.api_base_url}1:wrong/getMe") as response:
            assert response.status == 401
    assert fake_api.errors == [("sendTeleport", "Not Found"), ("getMe", "Unauthorized")]


async def test_json_form_and_multipart_bodies_are_all_understood(
    fake_api: FakeBotAPI, fake_api_user: User
) -> None:
    url = f"{fake_api.api_base_url}{fake_api.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as session:
        payload = {"chat_id": fake_api_user.id, "text": "json", "reply_markup": markup}
        async with session.post(url, json=payload) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        form = {"chat_id": str(fake_api_user.id), "text": "form"}
        async with session.post(url, data=form) as response:
            assert (await response.json())["result"]["text"] == "form"
        multipart = aiohttp.FormData(default_to_multipart=True)
        multipart.add_field("chat_id", str(fake_api_user.id))
        multipart.add_field("text", "multipart")
        async with session.post(url, data=multipart) as response:
            assert (await response.json())["result"]["text"] == "multipart"
    assert [m.text for m in fake_api.messages(fake_api_user.id)] == ["json", "form", "multipart"]
    fake_api.assert_no_errors()


# ---------------------------------------------------------------- HTML


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("<b>bold</b> <strong>too</strong>", "bold too", [("bold", 0, 4), ("bold", 5, 3)]),
        (
            "<i>i</i><em>e</em><u>u</u><ins>n</ins>",
            "ieun",
            [("italic", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("underline", 3, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        (
            '<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<code>c</code> <pre>p</pre>", "c p", [("code", 0, 1), ("pre", 2, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<a href="https://t.me/x?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
        ("a &lt; b &gt; c &amp; &quot;d&quot; &#128512;", 'a < b > c & "d" 😀', []),
        ("a > b", "a > b", []),
        ("<B>caps</B>", "caps", [("bold", 0, 4)]),
        ("<b>😀x</b> y", "😀x y", [("bold", 0, 3)]),
        ("<b><i>both</i></b>", "both", [("bold", 0, 4), ("italic", 0, 4)]),
    ],
)
def test_html_is_parsed_like_telegram(
    source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_html_pre_carries_the_code_language() -> None:
    parsed = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    assert (
        parse_html('<a href="https://x.y/?q=&quot;">l</a>').entities[0]["url"] == 'https://x.y/?q="'
    )


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ('<tg-emoji emoji-id="1">x</tg-emoji>', 'Unsupported start tag "tg-emoji"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("č<b", "Unclosed start tag at byte offset 2"),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b =x>y</b>", 'Empty attribute name in the tag "b"'),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0'),
        ("&#0;", 'Unescaped "&" at byte offset 0'),
    ],
)
def test_bad_html_is_refused(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value).startswith(error), str(caught.value)


def test_bare_ampersand_is_literal_when_not_strict() -> None:
    assert parse_html("Tom & Jerry", strict=False).text == "Tom & Jerry"


async def test_bad_html_reaches_the_bot_as_bad_request(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(fake_api_user.id, "Q&A <3", parse_mode="HTML")
    assert fake_api.errors[0][1].startswith("Bad Request: can't parse entities: Unescaped")


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_drops_confirmed_updates(fake_api: FakeBotAPI, bot: telegram.Bot) -> None:
    user = fake_api.new_user("Ana", language_code="sl")
    fake_api.send_command(user, "/start", "org_42")
    fake_api.send_text(user, "hello")
    fake_api.send_sticker(user)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    start = updates[0].message
    assert start.text == "/start org_42" and start.entities[0].type == "bot_command"
    assert start.from_user.language_code == "sl"

    assert [u.update_id for u in await bot.get_updates(offset=2)] == [2, 3]
    assert [u.update_id for u in await bot.get_updates(offset=1)] == [2, 3]  # 1 is gone
    assert await bot.get_updates(offset=4) == ()
    assert fake_api.pending_updates == []


async def test_negative_offset_keeps_only_the_latest(
    fake_api: FakeBotAPI, bot: telegram.Bot
) -> None:
    user = fake_api.new_user()
    for text in ("a", "b", "c"):
        fake_api.send_text(user, text)
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["c"]
    assert [u.message.text for u in await bot.get_updates()] == ["c"]


async def test_long_poll_wakes_when_an_update_arrives(
    fake_api: FakeBotAPI, bot: telegram.Bot
) -> None:
    user = fake_api.new_user()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake_api.wait_for(lambda: fake_api.calls_to("getUpdates"))
    assert not poll.done()
    fake_api.send_text(user, "wake up")
    (update,) = await asyncio.wait_for(poll, 10)
    assert update.message.text == "wake up"


async def test_long_poll_returns_nothing_when_time_is_up(
    fake_api: FakeBotAPI, bot: telegram.Bot
) -> None:
    assert await bot.get_updates(timeout=1) == ()


async def test_allowed_updates_filters_and_persists(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    sent = await bot.send_message(fake_api_user.id, "Q", reply_markup=keyboard([("Yes", "y")]))
    fake_api.press(fake_api_user, sent.message_id, "y")
    fake_api.send_text(fake_api_user, "text")
    (update,) = await bot.get_updates(allowed_updates=["message"])
    assert update.message.text == "text"
    assert [next(k for k in u if k != "update_id") for u in fake_api.filtered_updates] == [
        "callback_query"
    ]
    fake_api.press(fake_api_user, sent.message_id, "y")
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_all_simulated_update_kinds_deserialise(
    fake_api: FakeBotAPI, bot: telegram.Bot
) -> None:
    user = fake_api.new_user("Bo", language_code="de")
    group = fake_api.add_group("Team")
    channel = fake_api.add_channel("News")
    message = fake_api.send_text(user, "first")
    fake_api.edit_user_message(user, message, "first, edited")
    fake_api.send_text(user, "in group", chat=group)
    fake_api.send_photo(user, caption="look")
    fake_api.send_document(user, b"%PDF-1.4", file_name="plan.pdf", mime_type="application/pdf")
    fake_api.channel_post(channel, "post")
    fake_api.inline_query(user, "help")
    fake_api.my_chat_member(user, "member", chat=group)
    updates = await bot.get_updates(allowed_updates=list(telegram.Update.ALL_TYPES))
    assert updates[1].edited_message.text == "first, edited"
    assert updates[2].message.chat.type == "group"
    assert updates[3].message.caption == "look" and updates[3].message.photo
    document = updates[4].message.document
    assert document.file_name == "plan.pdf"
    assert (
        bytes(await (await bot.get_file(document.file_id)).download_as_bytearray()) == b"%PDF-1.4"
    )
    assert updates[5].channel_post.text == "post"
    assert updates[6].inline_query.query == "help"
    assert updates[7].my_chat_member.new_chat_member.status == "member"


async def test_get_updates_conflicts_with_a_webhook(
    fake_api: FakeBotAPI, bot: telegram.Bot
) -> None:
    await bot.set_webhook("https://example.invalid/hook")
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_wait_for_message_sees_the_reply(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    async def reply_later() -> None:
        (update,) = await bot.get_updates(timeout=10)
        await update.message.reply_text("Pong")  # type: ignore[union-attr]

    task = asyncio.create_task(reply_later())
    fake_api.send_text(fake_api_user, "Ping")
    reply = await fake_api.wait_for_message(fake_api_user.id, timeout=10)
    await task
    assert reply.text == "Pong" and reply.from_bot


async def test_wait_for_times_out_with_context(fake_api: FakeBotAPI) -> None:
    with pytest.raises(TimeoutError, match="condition not met"):
        await fake_api.wait_for(lambda: False, timeout=0.05)


# ---------------------------------------------------------------- faults


async def test_fault_rates_are_seeded_counted_and_not_bot_errors() -> None:
    fake_api_user = User(id=7001)
    logs = []
    for _ in range(2):
        async with FakeBotAPI(seed=7) as server:
            server.add_private_chat(fake_api_user)
            server.set_fault_rates(
                rate_limit=0.2, bad_gateway=0.2, drop=0.2, methods=["sendMessage"]
            )
            seen = {"429": 0, "502": 0, "drop": 0, "ok": 0}
            async with telegram.Bot(**server.bot_kwargs(), request=AiohttpRequest()) as bot:
                for i in range(60):
                    try:
                        await bot.send_message(fake_api_user.id, f"m{i}")
                        seen["ok"] += 1
                    except RetryAfter:
                        seen["429"] += 1
                    except NetworkError as error:
                        seen["502" if "Bad Gateway" in str(error) else "drop"] += 1
                await bot.get_me()  # other methods are left alone
            assert {kind: seen[kind] for kind in ("429", "502", "drop")} == dict(
                server.fault_counts
            )
            assert seen["ok"] == len(server.messages(fake_api_user.id))
            assert min(server.fault_counts.values()) > 0
            assert server.errors == []
            logs.append(list(server.faults.log))
    assert logs[0] == logs[1]


async def test_fault_rules_skip_and_times(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    rule = fake_api.inject_fault("502", "sendMessage", skip=1, times=2, json_body=True)
    await bot.send_message(fake_api_user.id, "passes")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(fake_api_user.id, "fails")
    await bot.send_message(fake_api_user.id, "passes again")
    assert rule.fired == 2 and rule.exhausted
    assert [m.text for m in fake_api.messages(fake_api_user.id)] == ["passes", "passes again"]


async def test_drop_after_processing_loses_only_the_answer(
    fake_api: FakeBotAPI, bot: telegram.Bot, fake_api_user: User
) -> None:
    fake_api.inject_fault("drop", ["sendMessage"], after_processing=True)
    with pytest.raises(NetworkError):
        await bot.send_message(fake_api_user.id, "Did it arrive?")
    assert [m.text for m in fake_api.messages(fake_api_user.id)] == ["Did it arrive?"]
    assert fake_api.fault_counts["drop"] == 1


# ---------------------------------------------------------------- flood control


def test_flood_control_buckets() -> None:
    clock = FakeClock()
    flood = FloodControl(clock=clock)
    assert [flood.check(1, False) for _ in range(5)] == [None] * 5
    assert flood.check(1, False) == 1  # a private chat: burst of 5, then 1/s
    clock.now += 1.0
    assert flood.check(1, False) is None
    assert flood.check(1, False) == 1

    for _ in range(21):
        assert flood.check(-5, True) is None
    assert flood.check(-5, True) == 3  # a group: 20 per minute, one every 3 s

    clock.now += 60.0
    results = [flood.check(chat_id, False) for chat_id in range(100, 134)]
    assert results[:33] == [None] * 33 and results[33] == 1  # 30/s overall, burst 33
    clock.now += 0.5
    assert [flood.check(chat_id, False) for chat_id in range(200, 215)] == [None] * 15


async def test_sending_too_fast_is_answered_429_and_recorded_apart() -> None:
    fake_api_user = User(id=7002)
    clock = FakeClock()
    async with FakeBotAPI(clock=clock) as server:
        server.add_private_chat(fake_api_user)
        server.enforce_rate_limits()
        async with telegram.Bot(**server.bot_kwargs(), request=AiohttpRequest()) as bot:
            for i in range(5):
                await bot.send_message(fake_api_user.id, f"m{i}")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(fake_api_user.id, "one too many")
            assert caught.value.retry_after == 1
            clock.now += 1.0
            await bot.send_message(fake_api_user.id, "after the wait")
        assert server.rate_limited == [("sendMessage", fake_api_user.id, 1)]
        assert server.errors == []
        assert len(server.messages(fake_api_user.id)) == 6
