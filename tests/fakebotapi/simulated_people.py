"""What a test does as Telegram users: write, tap, send files, block the bot.

Each action turns into the update a real client would cause, queued for the bot's next
``getUpdates``, so the bot under test handles it exactly as it would in production.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from .chat_state import CallbackQuery, ChatState
from .html import utf16_len
from .models import Chat, StoredMessage, User

__all__ = ["SimulatedPeople"]

_COMMAND_IN_TEXT = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class SimulatedPeople(ChatState):
    """Users, groups and channels, and everything they do that the bot sees."""

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
        content: dict[str, Any] = {"photo": [stored.photo_size()]}
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
        content: dict[str, Any] = {"document": stored.document()}
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
        self._queries[query_id] = CallbackQuery(created=self.clock(), user=user)
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
