"""The installation secret that keys service users' respondent hashes.

It lives in a file outside the database, so a leaked database or backup alone
cannot be matched against Telegram ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from storage.errors import SecretError

SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret, creating it (mode 0600) on the first start.

    A file of the wrong size is an error, never silently replaced: a new secret
    would make every service user look new and allow double submissions.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():
            raise SecretError(
                f"the secret file {path} is a link to nothing; fix the link"
            ) from None
        return _create(path)
    except OSError as exc:
        raise SecretError(f"cannot read the secret file {path}: {exc.strerror or exc}") from None
    if len(data) != SECRET_BYTES:
        raise SecretError(
            f"the secret file {path} holds {len(data)} bytes, not {SECRET_BYTES}; restore it "
            "from a backup (deleting it makes every service user look new)"
        )
    return data


def read_secret(path: Path) -> bytes:
    """The secret of an existing installation; an error if there is none."""
    if not path.exists():
        raise SecretError(f"there is no secret file at {path}")
    return load_or_create_secret(path)


def place_secret(secret: bytes, path: Path) -> bool:
    """Put an installation's secret at `path` (mode 0600); False if it was there already.

    A different secret already there is an error, never overwritten: the
    installation using it would take every service user for a new one.
    """
    if path.exists() or path.is_symlink():
        if load_or_create_secret(path) != secret:
            raise SecretError(
                f"{path} holds another installation's secret; name a new file, or remove it "
                "if nothing uses it"
            )
        return False
    if _create(path, secret) != secret:
        raise SecretError(f"{path} was created by another process meanwhile, with another secret")
    return True


def _create(path: Path, secret: bytes | None = None) -> bytes:
    """Write the secret (a new one by default) to a private temporary file, then link it.

    The link is atomic and fails if another process created the file first, in
    which case theirs wins and is read back.
    """
    secret = secret if secret is not None else secrets.token_bytes(SECRET_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(secret)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return load_or_create_secret(path)
    except OSError as exc:
        raise SecretError(f"cannot create the secret file {path}: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return secret


def respondent_key(secret: bytes, telegram_id: int) -> str:
    """The service user's stable pseudonym: HMAC-SHA256 of their Telegram id, as hex."""
    return hmac.new(secret, str(telegram_id).encode("ascii"), hashlib.sha256).hexdigest()
