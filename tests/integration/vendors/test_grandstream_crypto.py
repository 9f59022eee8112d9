"""Grandstream config encryption against the `openssl enc` binary, both ways (no mocks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioner.vendors.grandstream.crypto import MAGIC, decrypt_config, encrypt_config
from tests.unit.vendors.test_grandstream_crypto import ODD_PASSWORD, PASSWORD, PLAINS

CASES = [
    pytest.param(plain, password, id=f"{name}-{label}")
    for name, plain in PLAINS.items()
    for label, password in (("plain-password", PASSWORD), ("odd-password", ODD_PASSWORD))
]


def openssl(direction: str, password: str, source: Path) -> bytes:
    """The device's derivation: AES-256-CBC, EVP_BytesToKey with MD5 (OpenSSL 1.0's default)."""
    result = subprocess.run(
        ["openssl", "enc", direction, "-aes-256-cbc", "-md", "md5", "-k", password,
         "-in", str(source)],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.mark.parametrize(("plain", "password"), CASES)
def test_openssl_decrypts_ours(tmp_path: Path, plain: bytes, password: str) -> None:
    encrypted = encrypt_config(plain, password)
    assert encrypted.startswith(MAGIC)
    assert len(encrypted) == 16 + (len(plain) // 16 + 1) * 16  # header, then PKCS#7 blocks
    source = tmp_path / "cfg000b82aabbcc.xml"
    source.write_bytes(encrypted)
    assert openssl("-d", password, source) == plain


@pytest.mark.parametrize(("plain", "password"), CASES)
def test_we_decrypt_openssls(tmp_path: Path, plain: bytes, password: str) -> None:
    source = tmp_path / "config.xml"
    source.write_bytes(plain)
    assert decrypt_config(openssl("-e", password, source), password) == plain
