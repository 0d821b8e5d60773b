"""A fake Telegram Bot API server for tests: real HTTP, Telegram's limits, injected faults.

The pytest fixture ``fake_api`` lives in ``tests.fakebotapi.fixtures``.
"""

from .fault_injection import FAULT_KINDS, FaultInjector, FaultKind, FaultRule, FloodControl
from .html import EntityParseError, ParsedText, parse_html
from .models import ApiError, Chat, StoredFile, StoredMessage, User
from .server import ApiCall, FakeBotAPI

__all__ = [
    "FAULT_KINDS",
    "ApiCall",
    "ApiError",
    "Chat",
    "EntityParseError",
    "FakeBotAPI",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "FloodControl",
    "ParsedText",
    "StoredFile",
    "StoredMessage",
    "User",
    "parse_html",
]
