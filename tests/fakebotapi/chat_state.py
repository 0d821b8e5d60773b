"""What the fake Bot API knows: people, chats, messages, files, updates, menus.

One class holds it so that the HTTP layer, the Bot API methods and the simulated people
all change the same state, and a test reads what the bot did from one place. Every
change ends in ``_bump``, which wakes long polls and ``wait_for`` instead of polling.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .models import Chat, StoredFile, StoredMessage, User

__all__ = ["DEFAULT_ALLOWED_UPDATES", "ApiCall", "CallbackQuery", "ChatState", "canonical"]

T = TypeVar("T")

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


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call as the server received it (uploaded files as their sizes)."""

    method: str
    params: dict[str, Any]


@dataclass
class CallbackQuery:
    """A button press, kept so the bot's answer can be held to the 15 s window."""

    created: float
    user: User
    answered: bool = False


def canonical(value: Any) -> str:
    """A JSON form in which equal values are equal strings (edits, command scopes)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ChatState:
    """The fake server's state and the reads a test makes of it.

    Args:
        bot_user: The bot's Bot API ``User`` object.
        clock: Monotonic clock for flood control and the callback window.
    """

    def __init__(self, bot_user: dict[str, Any], clock: Callable[[], float]) -> None:
        self.bot_user = bot_user
        self.clock = clock

        # What the bot did wrong (never injected faults or flood waits).
        self.errors: list[tuple[str, str]] = []
        # Flood-control 429s: (method, chat_id, retry_after).
        self.rate_limited: list[tuple[str, int, int]] = []
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

        self._queries: dict[str, CallbackQuery] = {}
        self._inline_queries: set[str] = set()
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(100001)
        self._group_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()
        # Set while the server shuts down: long polls return at once.
        self._closing = False

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

    # ------------------------------------------------------------------ changes

    def _bump(self) -> None:
        """Wake everything waiting for a change (long polls and ``wait_for``)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for the bot's next getUpdates."""
        update = {"update_id": next(self._update_ids), kind: payload}
        self.pending_updates.append(update)
        self._bump()
        return update

    def _private_chat(self, user: User) -> Chat:
        """A user's private chat with the bot, made known on first use."""
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

    def _store_file(
        self, data: bytes | None, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        """Keep a file under a fresh file_id, downloadable at its file_path."""
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

    def _scope_key(self, scope: dict[str, Any] | None) -> str:
        """A command scope as a key: chat and user ids as numbers, whatever was sent."""
        scope = dict(scope or {"type": "default"})
        if "chat_id" in scope:
            chat_id = scope["chat_id"]
            scope["chat_id"] = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        if "user_id" in scope:
            scope["user_id"] = int(scope["user_id"])
        return canonical(scope)
