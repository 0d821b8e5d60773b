"""Sealed values: they open only under the same secret, purpose and row."""

from __future__ import annotations

import struct

import pytest

from storage.sealing import SealBroken, Sealer

SECRET = bytes(range(32))


def test_sealed_bytes_open_only_where_they_were_sealed() -> None:
    sealer = Sealer(SECRET, "reply route")
    plain = struct.pack(">q", 7_391_274_502)
    sealed = sealer.seal(plain, b"answer 1")
    assert plain not in sealed and b"7391274502" not in sealed
    assert sealer.seal(plain, b"answer 1") != sealed  # a fresh nonce each time
    assert sealer.open(sealed, b"answer 1") == plain
    with pytest.raises(SealBroken):
        sealer.open(sealed, b"answer 2")  # moved to another row
    with pytest.raises(SealBroken):
        Sealer(SECRET, "another purpose").open(sealed, b"answer 1")
    with pytest.raises(SealBroken):
        Sealer(bytes(32), "reply route").open(sealed, b"answer 1")  # another installation
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealBroken):
        sealer.open(tampered, b"answer 1")
    with pytest.raises(SealBroken):
        sealer.open(b"short", b"answer 1")
