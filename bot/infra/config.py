"""Settings from environment variables, over an optional TOML file.

Every value is checked at start; a bad one raises ConfigError with one line that
names the variable (or the file and key), so the CLI can print it instead of a
traceback. The TOML file is read into a typed model: a key in the wrong place, of
the wrong type, or unknown is refused, never guessed at.

    [carecheck]
    db = "/var/lib/carecheck/carecheck.db"   # or "postgresql://carecheck@db.example/carecheck"
    secret_file = "/var/lib/carecheck/carecheck.secret"
    log_level = "INFO"

    [telegram]
    token = "123456:ABC..."
    api_url = "https://api.telegram.org/bot"
    file_url = "https://api.telegram.org/file/bot"
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

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
PATH_LIMIT = 4096


class ConfigError(Exception):
    """A configuration value is wrong; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Settings:
    # The SQLite file; None when `db_url` names a PostgreSQL database instead.
    db_path: Path | None
    secret_file: Path
    token: str | None
    api_url: str
    file_url: str
    log_level: str = "INFO"
    db_url: str | None = None

    @property
    def database(self) -> str:
        """What `Database.open` takes: the PostgreSQL URL, or the SQLite file."""
        return self.db_url if self.db_url is not None else str(self.db_path)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _CarecheckTable(_Table):
    db: str | None = None
    secret_file: str | None = None
    log_level: str | None = None


class _TelegramTable(_Table):
    token: str | None = None
    api_url: str | None = None
    file_url: str | None = None


class _ConfigFile(_Table):
    carecheck: _CarecheckTable = _CarecheckTable()
    telegram: _TelegramTable = _TelegramTable()


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    env = os.environ if env is None else env
    file_values = _read_toml(config_file or _default_config_file(env))
    raw: dict[str, str] = {}
    for key, variable in VARIABLES.items():
        value = env.get(variable)
        if value is None:
            value = file_values.get(key)
        if value is not None and value.strip():
            raw[key] = value.strip()
    db_url, db_path, default_secret = _database(raw.get("db", "carecheck.db"))
    secret = raw.get("secret_file")
    if secret:
        secret_file = _writable_path(secret, VARIABLES["secret_file"])
    elif default_secret is not None:
        secret_file = default_secret
    else:
        raise ConfigError(
            "with a PostgreSQL CARECHECK_DB, set CARECHECK_SECRET_FILE: the secret is a file"
            " every replica needs, and there is no database file to keep it beside"
        )
    if db_path is not None and secret_file.resolve() == db_path.resolve():
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
        db_url=db_url,
        secret_file=secret_file,
        token=token,
        api_url=_url(raw.get("api_url", DEFAULT_API_URL), VARIABLES["api_url"]),
        file_url=_url(raw.get("file_url", DEFAULT_FILE_URL), VARIABLES["file_url"]),
        log_level=level,
    )


def _database(value: str) -> tuple[str | None, Path | None, Path | None]:
    """(PostgreSQL URL, SQLite file, default secret file) of CARECHECK_DB.

    `postgresql://` or `postgres://` selects PostgreSQL; a path, or `sqlite:` and a
    path, selects SQLite, whose secret file defaults to one beside the database.
    """
    if value.startswith(("postgresql://", "postgres://")):
        if "\x00" in value or any(char.isspace() for char in value):
            raise ConfigError("CARECHECK_DB: a PostgreSQL URL has no spaces or NUL characters")
        if not urlsplit(value).path.strip("/") and "dbname=" not in value:
            raise ConfigError("CARECHECK_DB: the PostgreSQL URL names no database (…/carecheck)")
        return value, None, None
    file = value.removeprefix("sqlite://") if value.startswith("sqlite://") else value
    file = file.removeprefix("sqlite:")
    path = _writable_path(file, VARIABLES["db"])
    return None, path, path.with_name(path.stem + ".secret")


def _default_config_file(env: Mapping[str, str]) -> Path | None:
    named = env.get("CARECHECK_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"CARECHECK_CONFIG names {named}, which is not a file")
        return path
    local = Path("carecheck.toml")
    return local if local.is_file() else None


def _read_toml(path: Path | None) -> dict[str, str]:
    """The file's settings by key; every misplaced, mistyped or unknown one is refused."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    try:
        parsed = _ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_problem(exc)}") from None
    values = {**parsed.carecheck.model_dump(), **parsed.telegram.model_dump()}
    return {key: value for key, value in values.items() if value is not None}


def _problem(error: ValidationError) -> str:
    """The first thing wrong in the file, as one line naming the key."""
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        known = ", ".join(f"[{table}] {key}" for table, key in _known())
        top = len(problem["loc"]) == 1
        hint = "; settings go under [carecheck] or [telegram]" if top else ""
        return f"unknown setting {where.split('.')[-1]!r}{hint}; known: {known}"
    return f"{where}: {_expected(problem)}"


def _expected(problem: Any) -> str:
    if len(problem["loc"]) == 1:
        return f"must be a table: a line [{problem['loc'][0]}], then key = value lines"
    return f"must be text in quotes, not {type(problem['input']).__name__}"


def _known() -> list[tuple[str, str]]:
    return [("carecheck", k) for k in _CarecheckTable.model_fields] + [
        ("telegram", k) for k in _TelegramTable.model_fields
    ]


def _writable_path(value: str, variable: str) -> Path:
    """A path for a file carecheck writes: absent (to be created) or a regular file."""
    if "\x00" in value:
        raise ConfigError(f"{variable} contains a NUL character")
    if len(value) > PATH_LIMIT:
        raise ConfigError(f"{variable} is longer than {PATH_LIMIT} characters")
    path = Path(value).expanduser()
    try:
        facts = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigError(
                f"{variable}: {value} is a link to nothing; fix or remove it"
            ) from None
        facts = None
    except RuntimeError:  # a loop of symbolic links
        raise ConfigError(f"{variable}: {value} is a loop of symbolic links") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise ConfigError(f"{variable}: {value} is a loop of symbolic links") from None
        raise ConfigError(f"{variable}: cannot use {value}: {exc.strerror}") from None
    if facts is not None and stat.S_ISDIR(facts.st_mode):
        raise ConfigError(f"{variable} names a directory ({value}); give a file path")
    if facts is not None and not stat.S_ISREG(facts.st_mode):
        raise ConfigError(f"{variable}: {value} is not a regular file")
    parent = path.parent if str(path.parent) else Path()
    if not parent.is_dir():
        raise ConfigError(f"{variable}: the directory {parent} does not exist")
    return path


def _url(value: str, variable: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{variable} must be an http(s) URL, like {DEFAULT_API_URL}")
    return value.rstrip("/")
