"""The Bot API methods the fake server implements, each held to Telegram's limits.

Every check a real bot can fail lives here, with the error text Telegram gives, so a
test learns of a limit it breaks the way production would: too long a text, a bad
inline keyboard, an edit that changes nothing, a callback answered too late.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from typing import Any

from .chat_state import DEFAULT_ALLOWED_UPDATES, ChatState, canonical
from .html import EntityParseError, ParsedText, parse_html, strip_text
from .http_layer import CallParams, Handler
from .models import ApiError, Chat, StoredFile, StoredMessage

__all__ = ["BotApiMethods"]

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


class BotApiMethods(ChatState):
    """The methods a bot calls, from parameters to a result or an ``ApiError``.

    ``strict_html`` refuses a bare ``&`` in HTML text (Telegram takes it literally);
    whoever assembles the server sets it.
    """

    strict_html: bool

    def _method_table(self) -> dict[str, tuple[str, Handler]]:
        """Each method by its lower-case name (Telegram ignores case): its name, its handler."""
        return {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
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

    # ------------------------------------------------------------ shared checks

    def _chat(self, params: CallParams, *, writing: bool = True) -> Chat:
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
        self, params: CallParams, key: str, entities_key: str, *, caption: bool
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

    def _text(self, params: CallParams) -> ParsedText:
        parsed = self._formatted(params, "text", "entities", caption=False)
        if parsed is None:
            raise ApiError("Bad Request: message text is empty")
        return parsed

    def _reply_markup(self, params: CallParams) -> dict[str, Any] | None:
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

    def _reply_to(self, chat: Chat, params: CallParams) -> dict[str, Any] | None:
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
        params: CallParams,
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

    def _editable(self, params: CallParams, missing: str) -> tuple[Chat, StoredMessage]:
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
        if canonical(current) == canonical(wanted):
            raise ApiError(NOT_MODIFIED)
        stored.versions.append(copy.deepcopy(stored.data))
        for key, value in changes.items():
            if value is None:
                stored.data.pop(key, None)
            else:
                stored.data[key] = value
        stored.data["edit_date"] = int(time.time())
        return copy.deepcopy(stored.data)

    def _input_file(self, params: CallParams, name: str, folder: str) -> StoredFile:
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

    @staticmethod
    def _add_caption(content: dict[str, Any], parsed: ParsedText | None) -> None:
        if parsed is not None and parsed.text:
            content["caption"] = parsed.text
            if parsed.entities:
                content["caption_entities"] = parsed.entities

    def _command_scope(self, params: CallParams) -> tuple[str, str]:
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

    # ------------------------------------------------------------ methods

    def _get_me(self, params: CallParams) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: CallParams) -> list[dict[str, Any]]:
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

    def _send_message(self, params: CallParams) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._text(params)
        markup = self._reply_markup(params)
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._post(chat, params, content, source=params.str("text"), markup=markup)

    def _edit_message_text(self, params: CallParams) -> dict[str, Any]:
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

    def _edit_message_caption(self, params: CallParams) -> dict[str, Any]:
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

    def _edit_message_reply_markup(self, params: CallParams) -> dict[str, Any]:
        _, stored = self._editable(params, "message to edit not found")
        markup = self._reply_markup(params)
        return self._apply_edit(stored, {"reply_markup": markup})

    def _delete_message(self, params: CallParams) -> bool:
        chat = self._chat(params, writing=False)
        message_id = params.int("message_id", required=True)
        stored = chat.messages.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            raise ApiError("Bad Request: message to delete not found")
        if not stored.from_bot and chat.type != "private":
            raise ApiError("Bad Request: message can't be deleted")
        stored.deleted = True
        return True

    def _answer_callback_query(self, params: CallParams) -> bool:
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

    def _answer_inline_query(self, params: CallParams) -> bool:
        query_id = params.str("inline_query_id", required=True) or ""
        if query_id not in self._inline_queries or query_id in self.inline_answers:
            raise ApiError(QUERY_INVALID)
        results = params.json("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError("Bad Request: RESULTS_TOO_MUCH")
        self.inline_answers[query_id] = {"results": results, "cache_time": params.int("cache_time")}
        return True

    def _send_photo(self, params: CallParams) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._reply_markup(params)
        stored = self._input_file(params, "photo", "photos")
        content: dict[str, Any] = {"photo": [stored.photo_size()]}
        self._add_caption(content, parsed)
        return self._post(
            chat, params, content, source=params.str("caption"), markup=markup, file=stored
        )

    def _send_document(self, params: CallParams) -> dict[str, Any]:
        chat = self._chat(params)
        parsed = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._reply_markup(params)
        stored = self._input_file(params, "document", "documents")
        content: dict[str, Any] = {"document": stored.document()}
        self._add_caption(content, parsed)
        return self._post(
            chat, params, content, source=params.str("caption"), markup=markup, file=stored
        )

    def _get_file(self, params: CallParams) -> dict[str, Any]:
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

    def _set_my_commands(self, params: CallParams) -> bool:
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

    def _get_my_commands(self, params: CallParams) -> list[dict[str, str]]:
        return copy.deepcopy(self.commands.get(self._command_scope(params), []))

    def _delete_my_commands(self, params: CallParams) -> bool:
        self.commands.pop(self._command_scope(params), None)
        return True

    def _leave_chat(self, params: CallParams) -> bool:
        chat = self._chat(params)
        if chat.type == "private":
            raise ApiError("Bad Request: chat member status can't be changed in private chats")
        chat.member = False
        return True

    def _send_chat_action(self, params: CallParams) -> bool:
        chat = self._chat(params)
        action = params.str("action", required=True) or ""
        if action not in CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True
