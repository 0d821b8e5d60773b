"""Sealing small values under the installation secret (AES-GCM, key by HKDF per purpose).

A reply route must lead back to a comment's author, so it cannot be a one-way hash
like a respondent key: it is encrypted instead. The key is derived from the secret
file with a purpose label, so it opens nothing else and the secret itself is never
used as a cipher key; a leaked database or backup alone opens nothing. The row's
identity is bound in as associated data, so a sealed value moved to another row
does not open there.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import StorageError

NONCE_BYTES = 12


class SealBroken(StorageError):
    """Sealed bytes that do not open under this key and row (another secret, or tampered)."""


class Sealer:
    """Seals and opens bytes for one purpose, under a key derived from the secret."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode("utf-8")
        ).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, bound_to: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, bound_to)
        except (InvalidTag, ValueError):
            raise SealBroken("sealed bytes do not open") from None
