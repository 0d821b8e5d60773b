"""Logging set-up: the bot token never reaches a log line, nor what people wrote.

PTB and HTTP libraries can log request URLs, and a Bot API URL contains the
token; a filter on every handler replaces it before anything is written. The
libraries that log message texts and chat ids at DEBUG stay at INFO.
"""

from __future__ import annotations

import logging
import sys

REDACTED = "<token>"


class RedactToken(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if any(secret in text for secret in self.secrets):
                record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def setup_logging(level: str, token: str | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken([token or ""]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request-level chatter (with URLs), and the state machine's two lines per answer,
    # only when asked for.
    noisy_loggers = (
        "httpx",
        "httpcore",
        "aiohttp.access",
        "telegram.ext.Updater",
        "transitions",
        "apscheduler",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # Never what people wrote or who they are: at DEBUG, PTB logs every update and the
    # parameters of every call (texts, chat ids), and aiosqlite every statement's values.
    for private in ("telegram", "aiosqlite"):
        logging.getLogger(private).setLevel(max(logging.INFO, logging.getLevelName(level)))
