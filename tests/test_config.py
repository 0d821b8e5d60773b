"""Settings from the environment over a TOML file; every bad value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.infra.config import DEFAULT_API_URL, ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc-123"


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.db_path == Path("carecheck.db")
    assert settings.secret_file == Path("carecheck.secret")
    assert settings.token is None
    assert settings.api_url == DEFAULT_API_URL


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[carecheck]\ndb = "{tmp_path}/file.db"\nlog_level = "debug"\n'
        f'[telegram]\ntoken = "{TOKEN}"\napi_url = "http://127.0.0.1:9/bot"\n'
    )
    settings = load_settings(env={"CARECHECK_DB": str(tmp_path / "env.db")}, config_file=config)
    assert settings.db_path == tmp_path / "env.db"
    assert settings.secret_file == tmp_path / "env.secret"
    assert settings.token == TOKEN
    assert settings.api_url == "http://127.0.0.1:9/bot"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "abc"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_FILE_URL": "not a url"}, "TELEGRAM_FILE_URL"),
        ({"CARECHECK_DB": "/no/such/dir/x.db"}, "CARECHECK_DB"),
        ({"CARECHECK_DB": "/tmp"}, "directory"),
        ({"CARECHECK_SECRET_FILE": "/no/such/dir/s"}, "CARECHECK_SECRET_FILE"),
        ({"CARECHECK_LOG_LEVEL": "loud"}, "CARECHECK_LOG_LEVEL"),
        ({"CARECHECK_CONFIG": "/no/such/file.toml"}, "CARECHECK_CONFIG"),
        ({"CARECHECK_DB": "x.db", "CARECHECK_SECRET_FILE": "x.db"}, "must not be"),
        ({"CARECHECK_DB": "postgresql://u@h/db"}, "CARECHECK_SECRET_FILE"),
        ({"CARECHECK_DB": "postgresql://u@h", "CARECHECK_SECRET_FILE": "s"}, "no database"),
        ({"CARECHECK_DB": "postgres://u@h/d b", "CARECHECK_SECRET_FILE": "s"}, "no spaces"),
    ],
)
def test_bad_values_name_the_setting(
    env: dict[str, str], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_settings(env=env)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_toml_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("db = [unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={}, config_file=broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[carecheck]\ndatabase = "x.db"\n')
    with pytest.raises(ConfigError, match="unknown setting 'database'"):
        load_settings(env={}, config_file=unknown)


def test_a_postgresql_url_selects_postgresql_and_sqlite_prefix_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql://carecheck@db.example:5432/carecheck"
    pg = load_settings(env={"CARECHECK_DB": url, "CARECHECK_SECRET_FILE": "c.secret"})
    assert (pg.database, pg.db_path, pg.secret_file) == (url, None, Path("c.secret"))
    lite = load_settings(env={"CARECHECK_DB": f"sqlite:{tmp_path / 'c.db'}"})
    assert lite.database == str(tmp_path / "c.db")
    assert lite.secret_file == tmp_path / "c.secret"
