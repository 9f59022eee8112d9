"""Grandstream config encryption against the `openssl enc` binary, both ways (no mocks)."""

from __future__ import annotations

import pytest

from provisioner.vendors.grandstream.crypto import MAGIC, decrypt_config, encrypt_config

PASSWORD = "P1359-secret"
ODD_PASSWORD = "a&b<c>d\"e'f gé"  # XML metacharacters, a space and non-ASCII


def _real_xml() -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<gs_provision version="1">', "<config>"]
    lines += [f"  <P{number}>value &amp; {number}</P{number}>" for number in range(1, 200)]
    lines += ["</config>", "</gs_provision>", ""]
    return "\n".join(lines).encode()


PLAINS = {
    "empty": b"",
    "one-byte": b"x",
    "one-block": b"0123456789abcdef",
    "real-xml": _real_xml(),
}


def test_real_xml_is_a_few_kilobytes() -> None:
    assert 4_000 < len(PLAINS["real-xml"]) < 20_000


def test_each_encryption_has_its_own_salt() -> None:
    first, second = (encrypt_config(PLAINS["real-xml"], PASSWORD) for _ in range(2))
    assert first[8:16] != second[8:16]
    assert first != second


@pytest.mark.parametrize("plain", PLAINS.values(), ids=PLAINS.keys())
def test_wrong_password_never_returns_the_plain_text(plain: bytes) -> None:
    encrypted = encrypt_config(plain, PASSWORD)
    refused = 0
    for attempt in range(50):
        try:
            decrypted = decrypt_config(encrypted, f"wrong-{attempt}")
        except ValueError:
            refused += 1
        else:
            assert decrypted != plain
    # The padding check catches all but ~1 in 256 wrong keys; the rest decrypt to garbage.
    assert refused >= 45


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<gs_provision/>",
        MAGIC,
        MAGIC + b"12345678",
        MAGIC + b"12345678" + b"x" * 15,
        MAGIC + b"1234",
    ],
    ids=["empty", "plain-xml", "magic-only", "no-ciphertext", "partial-block", "short-salt"],
)
def test_damaged_files_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="damaged"):
        decrypt_config(data, PASSWORD)


def test_a_flipped_padding_byte_is_refused() -> None:
    encrypted = bytearray(encrypt_config(PLAINS["real-xml"], PASSWORD))
    # CBC: flipping the second-to-last block's last byte flips the padding length byte (1..16)
    # into 239..254, which no PKCS#7 padding allows.
    encrypted[-17] ^= 0xFF
    with pytest.raises(ValueError, match="wrong password or damaged"):
        decrypt_config(bytes(encrypted), PASSWORD)


def test_an_empty_password_is_refused() -> None:
    with pytest.raises(ValueError, match="P1359"):
        encrypt_config(b"<gs_provision/>", "")
