"""Pytest fixtures for the fake Bot API; import them from a conftest.

``fake_api`` is a started server in the test's event loop, stopped afterwards.
``fake_api_user`` is a user whose private chat the bot can already write to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .models import User
from .server import FakeBotAPI

__all__ = ["fake_api", "fake_api_user"]


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A running fake Bot API server on 127.0.0.1 and a free port."""
    server = FakeBotAPI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def fake_api_user(fake_api: FakeBotAPI) -> User:
    """A user who has opened a private chat with the bot."""
    user = fake_api.new_user("Ana", language_code="sl")
    fake_api.add_private_chat(user)
    return user
