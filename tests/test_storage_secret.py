"""The installation secret file and respondent keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from storage import SecretError, load_or_create_secret, respondent_key


def test_secret_is_created_private_and_then_stable(tmp_path: Path) -> None:
    path = tmp_path / "state" / "carecheck.secret"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert path.read_bytes() == first
    # No temporary files are left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["carecheck.secret"]


def test_two_installations_get_different_secrets(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path / "a") != load_or_create_secret(tmp_path / "b")


@pytest.mark.parametrize("content", [b"", b"short", b"x" * 33])
def test_a_damaged_secret_file_is_an_error_not_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "carecheck.secret"
    path.write_bytes(content)
    with pytest.raises(SecretError, match=f"holds {len(content)} bytes"):
        load_or_create_secret(path)
    assert path.read_bytes() == content


def test_respondent_key_is_stable_keyed_and_hides_the_id() -> None:
    secret = b"s" * 32
    key = respondent_key(secret, 123456789)
    assert key == respondent_key(secret, 123456789)
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key)
    assert key != respondent_key(secret, 123456780)
    assert key != respondent_key(b"t" * 32, 123456789)
    assert "123456789" not in key
