"""An in-process fake Telegram Bot API server that the real bot talks HTTP to.

Why a server and not a mocked ``Bot``: the bot under test runs unchanged, transport and
all, and every call it makes is held to Telegram's rules. Each error the server returns
is kept in ``errors``, so a test suite can fail on any of them even when the bot
swallowed it.

Point python-telegram-bot at it with::

    ApplicationBuilder().token(server.token)
        .base_url(server.api_base_url).base_file_url(server.file_base_url)

Simulated people are ``User`` objects; ``send_text``, ``send_command``, ``press`` and
friends turn what they do into updates, which the bot fetches with ``getUpdates``.
What the bot did is read back with ``messages``, ``last_message``, ``callback_answers``
and ``commands_for``; ``wait_for`` awaits a state without polling.

Deviations from Telegram, on purpose: a bare ``&`` in HTML text is an error (see
``html.py``); Markdown parse modes are passed through unparsed; text length counts
code points; inline messages (``inline_message_id``) are not modelled.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from .fault_injection import FaultInjector, FaultKind, FaultRule, FloodControl
from .html import EntityParseError, ParsedText, parse_html, strip_text, utf16_len
from .models import ApiError, Chat, StoredFile, StoredMessage, User

__all__ = ["ApiCall", "FakeBotAPI"]

T = TypeVar("T")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS = 100
MAX_ANSWER_TEXT = 200
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256
CALLBACK_ANSWER_WINDOW = 15.0

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Update types delivered when the bot never chose (Telegram's default).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Methods that post a new message; flood control counts these.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendsticker",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendanimation",
        "sendmediagroup",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "forwardmessage",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_COMMAND_IN_TEXT = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call as the server received it (uploaded files as their sizes)."""

    method: str
    params: dict[str, Any]


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _Query:
    created: float
    user: User
    answered: bool = False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (photos are mostly charts and QR codes), else 1x1."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 1, 1


class _Params:
    """A call's parameters, typed the way the Bot API reads form and JSON fields."""

    def __init__(self, values: dict[str, Any], files: dict[str, _Upload]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise ApiError(f"Bad Request: {name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise ApiError(f"Bad Request: {name} is empty")
            return None
        if isinstance(value, bool):
            raise ApiError(f"Bad Request: invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {name} JSON object") from None
        return value

    def summary(self) -> dict[str, Any]:
        """Values plus uploads described by name, type and size, for the call log."""
        summary = dict(self.values)
        for name, upload in self.files.items():
            summary[name] = {
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return summary


class FakeBotAPI:
    """The fake Bot API server and its inspectable state.

    Args:
        token: The bot token the server accepts; requests with another get 401.
        bot_username: The bot's username (``getMe``).
        seed: Seed of the fault injector's RNG.
        strict_html: Refuse a bare ``&`` in HTML text (Telegram takes it literally).
        clock: Monotonic clock for flood control and the 15 s callback window; tests
            can pass a fake one.
        record_calls: Keep every call in ``calls`` (turn off for long benchmarks).
    """

    def __init__(
        self,
        token: str = "123456789:TEST-fake-token-for-carecheck",
        *,
        bot_username: str = "carecheck_test_bot",
        bot_first_name: str = "carecheck",
        seed: int = 0,
        strict_html: bool = True,
        clock: Callable[[], float] = time.monotonic,
        record_calls: bool = True,
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.strict_html = strict_html
        self.clock = clock
        self.record_calls = record_calls

        # What the bot did wrong (never injected faults or flood waits).
        self.errors: list[tuple[str, str]] = []
        # Flood-control 429s: (method, chat_id, retry_after).
        self.rate_limited: list[tuple[str, int, int]] = []
        self.faults = FaultInjector(seed)
        self.flood: FloodControl | None = None
        self.calls: list[ApiCall] = []

        self.chats: dict[int, Chat] = {}
        self.users: dict[int, User] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.pending_updates: list[dict[str, Any]] = []
        self.filtered_updates: list[dict[str, Any]] = []

        self._queries: dict[str, _Query] = {}
        self._inline_queries: set[str] = set()
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(100001)
        self._group_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._handlers: dict[str, tuple[str, Callable[[_Params], Awaitable[Any] | Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "leaveChat": self._leave_chat,
                "sendChatAction": self._send_chat_action,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port`` (0 picks a free port) in the running loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # No access log: it would print every URL, token included.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._host = host
        self._port = int(sockets[0].getsockname()[1])
        self._closing = False

    async def stop(self) -> None:
        """Release waiting long polls and close the server."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the fake Bot API server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What PTB's ``base_url`` takes (it appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What PTB's ``base_file_url`` takes (it appends the token)."""
        return f"{self.base_url}/file/bot"

    def bot_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``telegram.Bot``: token, base_url, base_file_url."""
        return {
            "token": self.token,
            "base_url": self.api_base_url,
            "base_file_url": self.file_base_url,
        }

    # -------------------------------------------------------------- configuration

    def inject_fault(
        self,
        kind: FaultKind,
        methods: Iterable[str] | str | None = None,
        *,
        times: int | None = 1,
        probability: float = 1.0,
        skip: int = 0,
        retry_after: int = 1,
        after_processing: bool = False,
        json_body: bool = False,
    ) -> FaultRule:
        """Add a fault rule (see ``FaultRule``); returns it so a test can read ``fired``."""
        return self.faults.add(
            kind,
            methods,
            times=times,
            probability=probability,
            skip=skip,
            retry_after=retry_after,
            after_processing=after_processing,
            json_body=json_body,
        )

    def set_fault_rates(
        self,
        *,
        rate_limit: float = 0.0,
        bad_gateway: float = 0.0,
        drop: float = 0.0,
        methods: Iterable[str] | str | None = None,
        retry_after: int = 1,
    ) -> None:
        """Fault every matching call at random with these probabilities, forever."""
        for kind, probability in (("429", rate_limit), ("502", bad_gateway), ("drop", drop)):
            if probability > 0:
                self.faults.add(
                    kind,  # type: ignore[arg-type]
                    methods,
                    times=None,
                    probability=probability,
                    retry_after=retry_after,
                )

    @property
    def fault_counts(self) -> Counter[str]:
        """How many faults of each kind ("429", "502", "drop") were injected."""
        return self.faults.counts

    def enforce_rate_limits(self, enabled: bool = True, **limits: float) -> None:
        """Answer sends over Telegram's flood limits with 429 (see ``FloodControl``)."""
        self.flood = FloodControl(clock=self.clock, **limits) if enabled else None

    # ----------------------------------------------------------------- inspection

    def chat(self, chat_id: int) -> Chat:
        """A known chat; KeyError if the bot could not write to it."""
        return self.chats[chat_id]

    def messages(
        self, chat_id: int, *, include_user: bool = False, include_deleted: bool = False
    ) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first, each in its current state."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [
            message
            for _, message in sorted(chat.messages.items())
            if (include_user or message.from_bot) and (include_deleted or not message.deleted)
        ]

    def last_message(self, chat_id: int) -> StoredMessage | None:
        """The bot's latest message in a chat that is not deleted."""
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """One message by id; KeyError if there is none."""
        return self.chats[chat_id].messages[message_id]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every recorded call of ``method``."""
        return [call.params for call in self.calls if call.method.lower() == method.lower()]

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """The command menu stored for a scope and language (as getMyCommands says)."""
        return copy.deepcopy(self.commands.get((self._scope_key(scope), language_code), []))

    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot has not answered."""
        return [qid for qid, query in self._queries.items() if not query.answered]

    def assert_no_errors(self) -> None:
        """Fail with the list if the server ever answered the bot with an error."""
        if self.errors:
            listed = "\n".join(f"  {method}: {description}" for method, description in self.errors)
            raise AssertionError(f"the bot drew {len(self.errors)} Bot API errors:\n{listed}")

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a default deadline keeps tests short to write
    ) -> T:
        """Wait until ``predicate()`` is truthy and return it; woken by each state change."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    result = predicate()
                    if result:
                        return result
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"condition not met within {timeout} s; last calls: "
                f"{[call.method for call in self.calls[-5:]]}, errors: {self.errors[-3:]}"
            ) from None

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        after: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> StoredMessage:
        """Wait for a new bot message in a chat, newer than message id ``after``.

        Without ``after`` it means newer than the latest one now, so call it before
        the awaited reply can have arrived (right after ``send_text`` or ``press``).
        """
        if after is None:
            last = self.last_message(chat_id)
            after = last.message_id if last else 0
        threshold = after

        def newer() -> StoredMessage | None:
            for message in self.messages(chat_id):
                if message.message_id > threshold:
                    return message
            return None

        return await self.wait_for(newer, timeout)

    def _bump(self) -> None:
        """Wake everything waiting for a change (long polls and ``wait_for``)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ----------------------------------------------------------- user simulation

    def new_user(
        self,
        first_name: str = "Test",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> User:
        """A new simulated user with a fresh id."""
        user = User(
            id=next(self._user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[user.id] = user
        return user

    def add_group(
        self, title: str = "Test group", *, supergroup: bool = False, chat_id: int | None = None
    ) -> dict[str, Any]:
        """A group the bot is a member of; returns its Chat object."""
        number = next(self._group_ids)
        if chat_id is None:
            chat_id = -(1000000000000 + number) if supergroup else -(4000000 + number)
        data = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        self.chats[chat_id] = Chat(data)
        return data

    def add_channel(
        self, title: str = "Test channel", username: str | None = None
    ) -> dict[str, Any]:
        """A channel the bot administers; returns its Chat object."""
        chat_id = -(1000000000000 + 500000 + next(self._group_ids))
        data: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        if username:
            data["username"] = username
        self.chats[chat_id] = Chat(data)
        return data

    def add_private_chat(self, user: User) -> dict[str, Any]:
        """Make a user's private chat known, as if they had started the bot."""
        return self._private_chat(user).data

    def send_text(
        self,
        user: User,
        text: str,
        *,
        chat: dict[str, Any] | int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user sends a text; /commands in it get bot_command entities like a client adds."""
        if entities is None:
            entities = [
                {
                    "type": "bot_command",
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group()),
                }
                for match in _COMMAND_IN_TEXT.finditer(text)
            ]
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._user_message(user, chat, content)

    def send_command(
        self,
        user: User,
        command: str,
        payload: str | None = None,
        *,
        chat: dict[str, Any] | int | None = None,
    ) -> dict[str, Any]:
        """The user sends ``/command payload`` (a deep link's /start payload, say)."""
        if not command.startswith("/"):
            command = "/" + command
        text = command if payload is None else f"{command} {payload}"
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(user, chat, {"text": text, "entities": entities})

    def send_photo(
        self,
        user: User,
        data: bytes = b"\x89PNG\r\n\x1a\n",
        *,
        caption: str | None = None,
        chat: dict[str, Any] | int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo."""
        stored = self._store_file(data, "photos", "photo.jpg", "image/jpeg")
        width, height = _png_size(data)
        content: dict[str, Any] = {"photo": [self._photo_size(stored, width, height)]}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, chat, content)

    def send_document(
        self,
        user: User,
        data: bytes,
        *,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat: dict[str, Any] | int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file."""
        stored = self._store_file(data, "documents", file_name, mime_type)
        content: dict[str, Any] = {"document": self._document(stored)}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, chat, content)

    def send_sticker(
        self, user: User, emoji: str = "👍", *, chat: dict[str, Any] | int | None = None
    ) -> dict[str, Any]:
        """The user sends a sticker."""
        stored = self._store_file(b"RIFF0000WEBP", "stickers", "sticker.webp", "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user, chat, {"sticker": sticker})

    def edit_user_message(self, user: User, message: dict[str, Any], text: str) -> dict[str, Any]:
        """The user edits one of their messages: an ``edited_message`` update."""
        chat = self.chats[message["chat"]["id"]]
        stored = chat.messages[message["message_id"]]
        stored.versions.append(copy.deepcopy(stored.data))
        stored.data["text"] = text
        stored.data.pop("entities", None)
        stored.data["edit_date"] = int(time.time())
        edited = copy.deepcopy(stored.data)
        kind = "edited_channel_post" if chat.type == "channel" else "edited_message"
        self._push(kind, edited)
        return edited

    def channel_post(self, channel: dict[str, Any] | int, text: str) -> dict[str, Any]:
        """A post appears in a channel the bot administers."""
        chat = self._resolve_chat(channel)
        message = {
            "message_id": chat.take_message_id(),
            "sender_chat": copy.deepcopy(chat.data),
            "chat": copy.deepcopy(chat.data),
            "date": int(time.time()),
            "text": text,
        }
        chat.messages[message["message_id"]] = StoredMessage(
            chat.id, message["message_id"], False, message, source=text
        )
        self._push("channel_post", copy.deepcopy(message))
        return message

    def press(
        self,
        user: User,
        message: Any,
        callback_data: str,
        *,
        chat_id: int | None = None,
        check: bool = True,
    ) -> str:
        """The user presses a button; returns the callback query id.

        ``message`` is a ``StoredMessage``, a message id in the user's private chat (or in
        ``chat_id``), a Message dict, or the ``telegram.Message`` PTB returned.

        With ``check`` the message must show a button with this data, as in a real
        client; ``check=False`` forges any data, as a malicious client can.
        """
        stored = self._find_message(user, message, chat_id)
        if stored.deleted:
            raise ValueError(f"message {stored.message_id} is deleted; nothing to press")
        if check and callback_data not in stored.callback_data:
            raise ValueError(
                f"message {stored.message_id} has no button {callback_data!r}; "
                f"it has {stored.callback_data}"
            )
        query_id = f"{user.id}{next(self._query_ids):06d}"
        self._queries[query_id] = _Query(created=self.clock(), user=user)
        self._push(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": copy.deepcopy(stored.data),
                "chat_instance": str(abs(stored.chat_id) * 7 + 3),
                "data": callback_data,
            },
        )
        return query_id

    def inline_query(self, user: User, query: str, offset: str = "") -> str:
        """The user types ``@bot query``; returns the inline query id."""
        query_id = f"9{user.id}{next(self._query_ids):06d}"
        self._inline_queries.add(query_id)
        self._push(
            "inline_query",
            {"id": query_id, "from": user.to_dict(), "query": query, "offset": offset},
        )
        return query_id

    def my_chat_member(
        self,
        user: User,
        new_status: str,
        *,
        chat: dict[str, Any] | int | None = None,
        old_status: str | None = None,
    ) -> dict[str, Any]:
        """The bot's membership changes: blocked/unblocked in private, added/removed in groups.

        ``new_status`` is a ChatMember status: member, administrator, left or kicked.
        """
        target = self._private_chat(user) if chat is None else self._resolve_chat(chat)
        if old_status is None:
            old_status = "member" if new_status in ("kicked", "left") else "left"
        target.member = new_status in ("member", "administrator")

        def member(status: str) -> dict[str, Any]:
            data: dict[str, Any] = {"status": status, "user": copy.deepcopy(self.bot_user)}
            if status == "kicked":
                data["until_date"] = 0
            if status == "administrator":
                data.update(
                    {
                        "can_be_edited": False,
                        "is_anonymous": False,
                        "can_manage_chat": True,
                        "can_delete_messages": True,
                        "can_manage_video_chats": False,
                        "can_restrict_members": False,
                        "can_promote_members": False,
                        "can_change_info": False,
                        "can_invite_users": True,
                        "can_post_stories": False,
                        "can_edit_stories": False,
                        "can_delete_stories": False,
                    }
                )
            return data

        update = {
            "chat": copy.deepcopy(target.data),
            "from": user.to_dict(),
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(new_status),
        }
        self._push("my_chat_member", update)
        return update

    def block(self, user: User) -> dict[str, Any]:
        """The user blocks the bot; sends to them now fail with 403."""
        return self.my_chat_member(user, "kicked")

    def inject(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update of any type (``kind`` is its field, e.g. "poll")."""
        return self._push(kind, payload)

    def _push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.pending_updates.append(update)
        self._bump()
        return update

    def _private_chat(self, user: User) -> Chat:
        self.users.setdefault(user.id, user)
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = Chat(user.private_chat())
        return chat

    def _resolve_chat(self, chat: dict[str, Any] | int) -> Chat:
        chat_id = chat["id"] if isinstance(chat, dict) else chat
        if chat_id not in self.chats:
            raise KeyError(f"chat {chat_id} is unknown; create it with add_group/add_channel")
        return self.chats[chat_id]

    def _user_message(
        self, user: User, chat: dict[str, Any] | int | None, content: dict[str, Any]
    ) -> dict[str, Any]:
        if chat is None:
            target = self._private_chat(user)
            # Writing to a bot you blocked unblocks it.
            target.member = True
        else:
            target = self._resolve_chat(chat)
            self.users.setdefault(user.id, user)
        message = {
            "message_id": target.take_message_id(),
            "from": user.to_dict(),
            "chat": copy.deepcopy(target.data),
            "date": int(time.time()),
            **content,
        }
        target.messages[message["message_id"]] = StoredMessage(
            target.id, message["message_id"], False, message, source=content.get("text")
        )
        self._push("message", copy.deepcopy(message))
        return message

    def _find_message(self, user: User, message: Any, chat_id: int | None) -> StoredMessage:
        if isinstance(message, StoredMessage):
            return message
        if isinstance(message, dict):
            return self.chats[message["chat"]["id"]].messages[message["message_id"]]
        if isinstance(message, int):
            return self.chats[user.id if chat_id is None else chat_id].messages[message]
        # A telegram.Message as PTB returned it to the test.
        return self.chats[message.chat.id].messages[message.message_id]

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        requested = request.match_info["method"]
        if token != self.token:
            return self._error_response(requested, ApiError("Unauthorized", 401))
        entry = self._handlers.get(requested.lower())
        if entry is None:
            return self._error_response(requested, ApiError("Not Found", 404))
        method, handler = entry
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._error_response(method, error)
        if self.record_calls:
            self.calls.append(ApiCall(method, params.summary()))
            self._bump()

        fault = self.faults.pick(method)
        if fault is not None and not (fault.kind == "drop" and fault.after_processing):
            return await self._fault_response(request, fault)

        try:
            if self.flood is not None and method.lower() in SEND_METHODS:
                self._check_flood(method, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            if error.code == 429:
                return web.json_response(error.body(), status=429)
            return self._error_response(method, error)
        finally:
            self._bump()

        if fault is not None:  # a drop after processing: the work is done, the answer lost
            return await self._fault_response(request, fault)
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error_response("file", ApiError("Unauthorized", 401))
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return self._error_response("file", ApiError("Not Found", 404))

    def _error_response(self, method: str, error: ApiError) -> web.Response:
        self.errors.append((method, error.description))
        self._bump()
        return web.json_response(error.body(), status=error.code)

    async def _fault_response(self, request: web.Request, fault: FaultRule) -> web.StreamResponse:
        if fault.kind == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return web.json_response(body, status=429)
        if fault.kind == "502":
            if fault.json_body:
                body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
                return web.json_response(body, status=502)
            return web.Response(text=BAD_GATEWAY_HTML, status=502, content_type="text/html")
        # A dropped connection: close the socket and never answer.
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        content_type = request.content_type
        if request.can_read_body:
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError("Bad Request: can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise ApiError("Bad Request: can't parse JSON encoded request")
                values.update(body)
            elif content_type == "multipart/form-data":
                reader = await request.multipart()
                async for part in reader:
                    if part is None or not hasattr(part, "filename"):
                        continue
                    name = part.name or ""
                    if part.filename is not None:
                        data = bytes(await part.read())
                        content = part.headers.get("Content-Type")
                        files[name] = _Upload(part.filename, content, data)
                    else:
                        values[name] = await part.text()
            else:
                form = await request.post()
                values.update({key: str(value) for key, value in form.items()})
        return _Params(values, files)

    def _check_flood(self, method: str, params: _Params) -> None:
        assert self.flood is not None
        chat_id = params.int("chat_id")
        if chat_id is None:
            return
        wait = self.flood.check(chat_id, chat_id < 0)
        if wait is not None:
            self.rate_limited.append((method, chat_id, wait))
            raise ApiError(f"Too Many Requests: retry after {wait}", 429, {"retry_after": wait})

    # ------------------------------------------------------------ shared checks

    def _chat(self, params: _Params, *, writing: bool = True) -> Chat:
        raw = params.values.get("chat_id")
        if raw in (None, ""):
            raise ApiError("Bad Request: chat_id is empty")
        chat: Chat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            for candidate in self.chats.values():
                if candidate.data.get("username") == raw[1:]:
                    chat = candidate
        else:
            chat_id = params.int("chat_id")
            chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise ApiError("Bad Request: chat not found")
        if writing and not chat.member:
            if chat.type == "private":
                raise ApiError("Forbidden: bot was blocked by the user", 403)
            raise ApiError(f"Forbidden: bot is not a member of the {chat.type} chat", 403)
        return chat

    def _formatted(
        self, params: _Params, key: str, entities_key: str, *, caption: bool
    ) -> ParsedText | None:
        raw = params.str(key)
        if raw is None:
            return None
        parse_mode = (params.str("parse_mode") or "").lower()
        if parse_mode == "html":
            try:
                parsed = parse_html(raw, strict=self.strict_html)
            except EntityParseError as error:
                raise ApiError(f"Bad Request: can't parse entities: {error}") from None
        elif parse_mode in ("", "markdown", "markdownv2"):
            parsed = ParsedText(raw, list(params.json(entities_key) or []))
        else:
            raise ApiError("Bad Request: unsupported parse_mode")
        parsed = strip_text(parsed)
        if caption:
            if len(parsed.text) > MAX_CAPTION:
                raise ApiError("Bad Request: message caption is too long")
        else:
            if not parsed.text:
                raise ApiError("Bad Request: message text is empty")
            if len(parsed.text) > MAX_TEXT:
                raise ApiError("Bad Request: message is too long")
        return parsed

    def _text(self, params: _Params) -> ParsedText:
        parsed = self._formatted(params, "text", "entities", caption=False)
        if parsed is None:
            raise ApiError("Bad Request: message text is empty")
        return parsed

    def _reply_markup(self, params: _Params) -> dict[str, Any] | None:
        """Validate the reply markup; return it if it is an inline keyboard, which stays."""
        markup = params.json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
            return {"inline_keyboard": markup["inline_keyboard"]}
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or any(not isinstance(row, list) for row in rows):
                raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else button.get("text", "")
                    if not text:
                        raise ApiError("Bad Request: BUTTON_TEXT_INVALID")
            if sum(len(row) for row in rows) > 300 or any(len(row) > 12 for row in rows):
                raise ApiError("Bad Request: reply markup is too long")
            return None
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return None
        raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or any(not isinstance(row, list) for row in rows):
            raise ApiError("Bad Request: can't parse inline keyboard markup JSON object")
        total = 0
        for index, row in enumerate(rows):
            if len(row) > MAX_BUTTONS_PER_ROW:
                raise ApiError(
                    f"Bad Request: reply markup is too long: row {index} has {len(row)} "
                    f"buttons, at most {MAX_BUTTONS_PER_ROW} are allowed"
                )
            total += len(row)
            for button in row:
                if not isinstance(button, dict):
                    raise ApiError("Bad Request: can't parse inline keyboard button")
                if not button.get("text"):
                    raise ApiError("Bad Request: BUTTON_TEXT_INVALID")
                actions = [key for key in _BUTTON_ACTIONS if key in button]
                if len(actions) != 1:
                    raise ApiError(
                        "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise ApiError("Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not button["url"]:
                    raise ApiError("Bad Request: BUTTON_URL_INVALID")
        if total > MAX_BUTTONS:
            raise ApiError("Bad Request: reply markup is too long")

    def _reply_to(self, chat: Chat, params: _Params) -> dict[str, Any] | None:
        reply = params.json("reply_parameters") or {}
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        allow = bool(reply.get("allow_sending_without_reply")) if isinstance(reply, dict) else False
        if message_id is None:
            message_id = params.int("reply_to_message_id")
            allow = allow or params.bool("allow_sending_without_reply")
        if message_id is None:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if allow:
                return None
            raise ApiError("Bad Request: message to be replied not found")
        replied = copy.deepcopy(target.data)
        replied.pop("reply_to_message", None)
        return replied

    def _post(
        self,
        chat: Chat,
        params: _Params,
        content: dict[str, Any],
        *,
        source: str | None,
        markup: dict[str, Any] | None,
        file: StoredFile | None = None,
    ) -> dict[str, Any]:
        reply_to = self._reply_to(chat, params)
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": copy.deepcopy(self.bot_user),
            "chat": copy.deepcopy(chat.data),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = StoredMessage(
            chat_id=chat.id,
            message_id=message["message_id"],
            from_bot=True,
            data=message,
            source=source,
            parse_mode=params.str("parse_mode"),
            file=file,
        )
        return copy.deepcopy(message)

    def _editable(self, params: _Params, missing: str) -> tuple[Chat, StoredMessage]:
        if params.has("inline_message_id"):
            raise ApiError("Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.int("message_id", required=True)
        stored = chat.messages.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            raise ApiError(f"Bad Request: {missing}")
        if not stored.from_bot:
            raise ApiError("Bad Request: message can't be edited")
        return chat, stored

    @staticmethod
    def _apply_edit(stored: StoredMessage, changes: dict[str, Any]) -> dict[str, Any]:
        """Edit in place unless nothing changes; ``None`` values remove a field."""
        current = {key: stored.data.get(key) for key in changes}
        wanted = {key: value for key, value in changes.items()}
        if _canonical(current) == _canonical(wanted):
            raise ApiError(NOT_MODIFIED)
        stored.versions.append(copy.deepcopy(stored.data))
        for key, value in changes.items():
            if value is None:
                stored.data.pop(key, None)
            else:
                stored.data[key] = value
        stored.data["edit_date"] = int(time.time())
        return copy.deepcopy(stored.data)

    # -------------------------------------------------------------- files

    def _store_file(
        self, data: bytes | None, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = next(self._file_ids)
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}",
            file_unique_id=f"AgAD{number:06d}",
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _photo_size(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
        size: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
        }
        if stored.size is not None:
            size["file_size"] = stored.size
        return size

    @staticmethod
    def _document(stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        if stored.size is not None:
            document["file_size"] = stored.size
        return document

    def _input_file(self, params: _Params, name: str, folder: str) -> StoredFile:
        """The file a send refers to: an upload, an attach:// upload, a file_id or a URL."""
        upload = params.files.get(name)
        value = params.str(name)
        if upload is None and value and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise ApiError("Bad Request: file must be non-empty")
            return self._store_file(upload.data, folder, upload.filename, upload.content_type)
        if not value:
            raise ApiError(f"Bad Request: there is no {name} in the request")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            return self._store_file(None, folder, value.rsplit("/", 1)[-1], None)
        raise ApiError("Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------ methods

    def _get_me(self, params: _Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: _Params) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                409,
            )
        offset = params.int("offset")
        limit = min(max(params.int("limit") or 100, 1), 100)
        timeout = max(params.float("timeout") or 0.0, 0.0)
        allowed = params.json("allowed_updates")
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if offset:
            if offset > 0:
                self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
            else:
                self.pending_updates = self.pending_updates[offset:]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            batch = self._deliverable(limit)
            remaining = deadline - asyncio.get_running_loop().time()
            if batch or remaining <= 0 or self._closing:
                return copy.deepcopy(batch)
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                return []

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        for update in self.pending_updates:
            kind = next(key for key in update if key != "update_id")
            if kind in self.allowed_updates:
                kept.append(update)
            else:
                self.filtered_updates.append(update)
        self.pending_updates = kept
        return kept[:limit]

    def _set_webhook(self, params: _Params) -> bool:
        url = params.str("url") or ""
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": params.str("secret_token")}
        if params.bool("drop_pending_updates"):
            self.pending_updates.clear()
        return True

    def _delete_webhook(self, params: _Params) -> bool:
        self.webhook = None
        if params.bool("drop_pending_updates"):
            self.pending_updates.clear()
        return True

    def _get_webhook_info(self, params: _Params) -> dict[str, Any]:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }

    def _send_message(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._text(params)
        markup = self._reply_markup(params)
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._post(chat, params, content, source=params.str("text"), markup=markup)

    def _edit_message_text(self, params: _Params) -> dict[str, Any]:
        _, stored = self._editable(params, "message to edit not found")
        if "text" not in stored.data:
            raise ApiError("Bad Request: there is no text in the message to edit")
        parsed = self._text(params)
        markup = self._reply_markup(params)
        result = self._apply_edit(
            stored,
            {"text": parsed.text, "entities": parsed.entities or None, "reply_markup": markup},
        )
        stored.source = params.str("text")
        stored.parse_mode = params.str("parse_mode")
        return result

    def _edit_message_caption(self, params: _Params) -> dict[str, Any]:
        _, stored = self._editable(params, "message to edit not found")
        if "text" in stored.data:
            raise ApiError("Bad Request: there is no caption in the message to edit")
        parsed = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._reply_markup(params)
        result = self._apply_edit(
            stored,
            {
                "caption": parsed.text if parsed and parsed.text else None,
                "caption_entities": (parsed.entities if parsed else None) or None,
                "reply_markup": markup,
            },
        )
        stored.source = params.str("caption")
        return result

    def _edit_message_reply_markup(self, params: _Params) -> dict[str, Any]:
        _, stored = self._editable(params, "message to edit not found")
        markup = self._reply_markup(params)
        return self._apply_edit(stored, {"reply_markup": markup})

    def _delete_message(self, params: _Params) -> bool:
        chat = self._chat(params, writing=False)
        message_id = params.int("message_id", required=True)
        stored = chat.messages.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            raise ApiError("Bad Request: message to delete not found")
        if not stored.from_bot and chat.type != "private":
            raise ApiError("Bad Request: message can't be deleted")
        stored.deleted = True
        return True

    def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.str("callback_query_id", required=True) or ""
        query = self._queries.get(query_id)
        if query is None or query.answered or self.clock() - query.created > CALLBACK_ANSWER_WINDOW:
            raise ApiError(QUERY_INVALID)
        text = params.str("text")
        if text is not None and len(text) > MAX_ANSWER_TEXT:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": params.bool("show_alert"),
            "url": params.str("url"),
            "cache_time": params.int("cache_time"),
        }
        return True

    def _answer_inline_query(self, params: _Params) -> bool:
        query_id = params.str("inline_query_id", required=True) or ""
        if query_id not in self._inline_queries or query_id in self.inline_answers:
            raise ApiError(QUERY_INVALID)
        results = params.json("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError("Bad Request: RESULTS_TOO_MUCH")
        self.inline_answers[query_id] = {"results": results, "cache_time": params.int("cache_time")}
        return True

    def _send_photo(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._reply_markup(params)
        stored = self._input_file(params, "photo", "photos")
        width, height = _png_size(stored.data or b"")
        content: dict[str, Any] = {"photo": [self._photo_size(stored, width, height)]}
        self._add_caption(content, parsed)
        return self._post(
            chat, params, content, source=params.str("caption"), markup=markup, file=stored
        )

    def _send_document(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._reply_markup(params)
        stored = self._input_file(params, "document", "documents")
        content: dict[str, Any] = {"document": self._document(stored)}
        self._add_caption(content, parsed)
        return self._post(
            chat, params, content, source=params.str("caption"), markup=markup, file=stored
        )

    @staticmethod
    def _add_caption(content: dict[str, Any], parsed: ParsedText | None) -> None:
        if parsed is not None and parsed.text:
            content["caption"] = parsed.text
            if parsed.entities:
                content["caption_entities"] = parsed.entities

    def _get_file(self, params: _Params) -> dict[str, Any]:
        file_id = params.str("file_id", required=True) or ""
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError("Bad Request: invalid file_id")
        result: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.size is not None:
            result["file_size"] = stored.size
        return result

    def _scope_key(self, scope: dict[str, Any] | None) -> str:
        scope = dict(scope or {"type": "default"})
        if "chat_id" in scope:
            chat_id = scope["chat_id"]
            scope["chat_id"] = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        if "user_id" in scope:
            scope["user_id"] = int(scope["user_id"])
        return _canonical(scope)

    def _command_scope(self, params: _Params) -> tuple[str, str]:
        scope = params.json("scope")
        if scope is not None:
            if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
                raise ApiError("Bad Request: can't parse BotCommandScope")
            if scope["type"].startswith("chat"):
                raw = scope.get("chat_id")
                known = raw in self.chats or (
                    str(raw).lstrip("-").isdigit() and int(str(raw)) in self.chats
                )
                if not known:
                    raise ApiError("Bad Request: chat not found")
            if scope["type"] == "chat_member" and "user_id" not in scope:
                raise ApiError("Bad Request: user_id is empty")
        language = params.str("language_code") or ""
        if language and not _LANGUAGE_CODE.fullmatch(language):
            raise ApiError("Bad Request: invalid language code specified")
        return self._scope_key(scope), language

    def _set_my_commands(self, params: _Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list):
            raise ApiError("Bad Request: can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise ApiError("Bad Request: BOT_COMMANDS_TOO_MUCH")
        stored: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError("Bad Request: can't parse BotCommand")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_NAME.fullmatch(name):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not description.strip():
                raise ApiError("Bad Request: command description must be non-empty")
            if len(description) > MAX_COMMAND_DESCRIPTION:
                raise ApiError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        key = self._command_scope(params)
        if stored:
            self.commands[key] = stored
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: _Params) -> list[dict[str, str]]:
        return copy.deepcopy(self.commands.get(self._command_scope(params), []))

    def _delete_my_commands(self, params: _Params) -> bool:
        self.commands.pop(self._command_scope(params), None)
        return True

    def _leave_chat(self, params: _Params) -> bool:
        chat = self._chat(params)
        if chat.type == "private":
            raise ApiError("Bad Request: chat member status can't be changed in private chats")
        chat.member = False
        return True

    def _send_chat_action(self, params: _Params) -> bool:
        chat = self._chat(params)
        action = params.str("action", required=True) or ""
        if action not in CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
