"""Settings from environment variables, over an optional TOML file.

Every value is checked at start; a bad one raises ConfigError with one line
that names the variable, so the CLI can print it instead of a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,80}$")
# TOML key -> environment variable; the environment wins.
VARIABLES = {
    "db": "CARECHECK_DB",
    "secret_file": "CARECHECK_SECRET_FILE",
    "log_level": "CARECHECK_LOG_LEVEL",
    "token": "TELEGRAM_BOT_TOKEN",
    "api_url": "TELEGRAM_API_URL",
    "file_url": "TELEGRAM_FILE_URL",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """A configuration value is wrong; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path
    secret_file: Path
    token: str | None
    api_url: str
    file_url: str
    log_level: str = "INFO"


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    env = os.environ if env is None else env
    file_values = _read_toml(config_file or _default_config_file(env))
    raw: dict[str, str] = {}
    for key, variable in VARIABLES.items():
        value = env.get(variable)
        if value is None and key in file_values:
            value = str(file_values[key])
        if value is not None and value.strip():
            raw[key] = value.strip()
    db_path = _writable_path(raw.get("db", "carecheck.db"), VARIABLES["db"])
    default_secret = db_path.with_name(db_path.stem + ".secret")
    secret = raw.get("secret_file")
    secret_file = _writable_path(secret, VARIABLES["secret_file"]) if secret else default_secret
    if secret_file.resolve() == db_path.resolve():
        raise ConfigError("CARECHECK_SECRET_FILE must not be the database file itself")
    token = raw.get("token")
    if token is not None and not TOKEN_PATTERN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters, from @BotFather)"
        )
    level = raw.get("log_level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"CARECHECK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return Settings(
        db_path=db_path,
        secret_file=secret_file,
        token=token,
        api_url=_url(raw.get("api_url", DEFAULT_API_URL), VARIABLES["api_url"]),
        file_url=_url(raw.get("file_url", DEFAULT_FILE_URL), VARIABLES["file_url"]),
        log_level=level,
    )


def _default_config_file(env: Mapping[str, str]) -> Path | None:
    named = env.get("CARECHECK_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"CARECHECK_CONFIG names {named}, which is not a file")
        return path
    local = Path("carecheck.toml")
    return local if local.is_file() else None


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    flat = dict(data.get("carecheck", {}))
    flat.update({k: v for k, v in data.get("telegram", {}).items()})
    unknown = sorted(set(flat) - set(VARIABLES))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(VARIABLES)}")
    return flat


def _writable_path(value: str, variable: str) -> Path:
    if "\x00" in value:
        raise ConfigError(f"{variable} contains a NUL character")
    path = Path(value).expanduser()
    if path.is_dir():
        raise ConfigError(f"{variable} names a directory ({value}); give a file path")
    parent = path.parent if str(path.parent) else Path()
    if not parent.is_dir():
        raise ConfigError(f"{variable}: the directory {parent} does not exist")
    return path


def _url(value: str, variable: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{variable} must be an http(s) URL, like {DEFAULT_API_URL}")
    return value.rstrip("/")
