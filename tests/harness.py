"""The real bot (the same factory as `carecheck run`) against the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.infra.config import Settings, load_settings
from bot.services.runtime import Runtime, open_runtime
from bot.telegram.app import build_application, serve
from storage.db import Database
from storage.invites import InviteRepo
from storage.orgs import OrgRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.models import StoredMessage, User
from tests.fakebotapi.server import FakeBotAPI


async def stored_rows(db: Database) -> list[str]:
    """Every row of every table, as text: what a look at the whole database would find."""
    if db.dialect == "postgresql":
        sql = (
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = 'public' ORDER BY table_name"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    rows = []
    for table in await db.fetchall(sql):
        rows += [repr(tuple(row)) for row in await db.fetchall(f"SELECT * FROM {table['name']}")]
    return rows


async def column_names(db: Database, table: str) -> set[str]:
    if db.dialect == "postgresql":
        sql = "SELECT column_name AS name FROM information_schema.columns WHERE table_name = ?"
    else:
        sql = "SELECT name FROM pragma_table_info(?)"
    return {row["name"] for row in await db.fetchall(sql, (table,))}


class Harness:
    def __init__(
        self, api: FakeBotAPI, directory: Path, clock: FakeClock, database: str | None = None
    ) -> None:
        """`database`: a PostgreSQL URL; by default a SQLite file in `directory`."""
        self.api = api
        self.clock = clock
        self.settings: Settings = load_settings(
            env={
                "CARECHECK_DB": database or str(directory / "carecheck.db"),
                "CARECHECK_SECRET_FILE": str(directory / "carecheck.secret"),
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_URL": api.api_base_url,
                "TELEGRAM_FILE_URL": api.file_base_url,
            }
        )
        self.runtime: Runtime | None = None
        self.app: Application | None = None  # type: ignore[type-arg]
        self._runtime_cm: Any = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._runtime_cm = open_runtime(self.settings, self.clock)
        self.runtime = await self._runtime_cm.__aenter__()
        self.app = build_application(self.runtime, run_jobs=False)
        self._stop = asyncio.Event()
        polls = len(self.api.calls_to("getUpdates"))
        self._task = asyncio.create_task(serve(self.app, self._stop))
        # Started when it asks for updates: this start's first request, not an earlier one.
        await self.api.wait_for(lambda: len(self.api.calls_to("getUpdates")) > polls, timeout=10)

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, timeout=30)
        if self._runtime_cm is not None:
            await self._runtime_cm.__aexit__(None, None, None)
        self._task = self._stop = self._runtime_cm = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def rt(self) -> Runtime:
        assert self.runtime is not None
        return self.runtime

    async def org(self, name: str = "Dom Sonce", **settings: Any) -> int:
        return await OrgRepo(self.rt.db).create_org(name, **settings)

    async def invite(self, org_id: int, role: str, **kwargs: Any) -> str:
        invite = await InviteRepo(self.rt.db).create(
            org_id,
            kwargs.get("unit_id"),
            role,  # type: ignore[arg-type]
            kwargs.get("uses"),
            kwargs.get("expires_at"),
            None,
        )
        return invite.code

    def user(self, name: str = "Ana", language: str | None = "en") -> User:
        user = self.api.new_user(name, language_code=language)
        self.api.add_private_chat(user)
        return user

    def _last_id(self, chat_id: int) -> int | None:
        message = self.api.last_message(chat_id)
        return None if message is None else message.message_id

    async def command(self, user: User, command: str, payload: str | None = None) -> StoredMessage:
        """Send a command and return the bot's next new message in that chat."""
        after = self._last_id(user.id)
        self.api.send_command(user, command, payload)
        return await self.api.wait_for_message(user.id, after=after, timeout=10)

    async def text(self, user: User, text: str) -> StoredMessage:
        after = self._last_id(user.id)
        self.api.send_text(user, text)
        return await self.api.wait_for_message(user.id, after=after, timeout=10)

    async def press(self, user: User, message: StoredMessage, data: str, **kw: Any) -> dict:  # type: ignore[type-arg]
        """Press a button and wait until the bot has answered the query (after any edit)."""
        query_id = self.api.press(user, message, data, **kw)
        return await self.api.wait_for(lambda: self.api.callback_answers.get(query_id), timeout=10)

    async def settle(self, predicate: Callable[[], Any]) -> Any:
        return await self.api.wait_for(predicate, timeout=10)


def button(message: StoredMessage, label_start: str) -> str:
    """The callback data of the first button whose text starts with `label_start`."""
    for row in message.buttons:
        for b in row:
            if b.get("text", "").startswith(label_start) and "callback_data" in b:
                return str(b["callback_data"])
    raise AssertionError(f"no button {label_start!r} in {message.button_texts}")
