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

The server is five parts, one job each, joined here into ``FakeBotAPI``:
``chat_state`` (what it knows), ``http_layer`` (requests, errors and faults on the wire),
``api_methods`` (the Bot API methods and their checks), ``webhook_delivery`` (updates
POSTed to the bot and redelivered until acknowledged) and ``simulated_people`` (what
tests do as Telegram users).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .api_methods import BotApiMethods
from .chat_state import ApiCall
from .fault_injection import FaultInjector
from .http_layer import HttpLayer
from .simulated_people import SimulatedPeople
from .webhook_delivery import WebhookDelivery

__all__ = ["ApiCall", "FakeBotAPI"]


class FakeBotAPI(HttpLayer, WebhookDelivery, BotApiMethods, SimulatedPeople):
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
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        super().__init__(bot_user, clock)
        self.token = token
        self.strict_html = strict_html
        self.record_calls = record_calls
        self.faults = FaultInjector(seed)
        self.flood = None
        self._init_webhooks()
        self._handlers = self._method_table() | self._webhook_methods()

    async def stop(self) -> None:
        """End webhook deliveries, then release long polls and close the server."""
        await self.stop_webhook_delivery()
        await super().stop()
