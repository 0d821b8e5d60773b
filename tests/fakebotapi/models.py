"""The fake Bot API's state: people, chats, messages and files as plain data."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "Chat", "StoredFile", "StoredMessage", "User"]


class ApiError(Exception):
    """A Bot API error response; ``description`` is what Telegram would say."""

    def __init__(
        self, description: str, code: int = 400, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class User:
    """A simulated Telegram user who talks to the bot."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The Bot API ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def private_chat(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of this user's private chat with the bot."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    """A file the bot uploaded or a user sent; downloadable through ``getFile``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int | None:
        """Size in bytes, when the content is known."""
        return None if self.data is None else len(self.data)

    def photo_size(self) -> dict[str, Any]:
        """The Bot API ``PhotoSize`` of this file as a photo."""
        width, height = _png_size(self.data or b"")
        size: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": width,
            "height": height,
        }
        if self.size is not None:
            size["file_size"] = self.size
        return size

    def document(self) -> dict[str, Any]:
        """The Bot API ``Document`` of this file."""
        document: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
        }
        if self.file_name:
            document["file_name"] = self.file_name
        if self.mime_type:
            document["mime_type"] = self.mime_type
        if self.size is not None:
            document["file_size"] = self.size
        return document


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (photos are mostly charts and QR codes), else 1x1."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 1, 1


@dataclass
class StoredMessage:
    """One message in a chat, in its current state after edits.

    ``data`` is the Bot API ``Message`` as the bot would receive it now; ``versions``
    keeps the earlier states. ``source`` is the text or caption as the bot sent it,
    before entity parsing.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]
    source: str | None = None
    parse_mode: str | None = None
    file: StoredFile | None = None
    deleted: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def edits(self) -> int:
        """How many times the message was edited."""
        return len(self.versions)

    @property
    def text(self) -> str | None:
        """The text (or caption) after entity parsing."""
        return self.data.get("text", self.data.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        """Entities of the text or caption."""
        return list(self.data.get("entities", self.data.get("caption_entities", [])))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The inline keyboard, if the message has one."""
        return self.data.get("reply_markup")

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard's rows of buttons (empty without a keyboard)."""
        markup = self.reply_markup or {}
        return copy.deepcopy(markup.get("inline_keyboard", []))

    @property
    def callback_data(self) -> list[str]:
        """Every button's callback_data, row by row."""
        return [
            button["callback_data"]
            for row in self.buttons
            for button in row
            if "callback_data" in button
        ]

    @property
    def button_texts(self) -> list[str]:
        """Every button's label, row by row."""
        return [button.get("text", "") for row in self.buttons for button in row]

    @property
    def kind(self) -> str:
        """What the message carries: text, photo, document, sticker..."""
        for kind in ("text", "photo", "document", "sticker", "video", "voice", "audio"):
            if kind in self.data:
                return kind
        return "other"


@dataclass
class Chat:
    """A chat the bot can write to."""

    data: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    # False once the user blocked the bot or the bot left or was removed from the group.
    member: bool = True

    @property
    def id(self) -> int:
        """The chat id."""
        return int(self.data["id"])

    @property
    def type(self) -> str:
        """private, group, supergroup or channel."""
        return str(self.data["type"])

    def take_message_id(self) -> int:
        """The next message id in this chat; ids only grow."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id
