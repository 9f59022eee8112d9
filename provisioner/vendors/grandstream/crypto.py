"""Grandstream XML config encryption with the per-device P1359 password.

The device decrypts like ``openssl enc -d -aes-256-cbc -md md5 -k PASSWORD`` (OpenSSL 1.0's
default digest): AES-256-CBC, PKCS#7 padding, key and IV from EVP_BytesToKey with MD5 and one
iteration over the password and an 8-byte salt, the file being ``Salted__`` + salt + ciphertext.
MD5 and the single iteration are the device's derivation, not a choice we could make stronger;
the real protection is a long random P1359 password.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"Salted__"
SALT_BYTES = 8
_KEY_BYTES = 32
_BLOCK_BYTES = 16


def _evp_bytes_to_key(password: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """OpenSSL's EVP_BytesToKey(MD5, count=1): D_i = MD5(D_{i-1} || password || salt)."""
    derived = block = b""
    while len(derived) < _KEY_BYTES + _BLOCK_BYTES:
        block = hashlib.md5(block + password + salt, usedforsecurity=False).digest()
        derived += block
    return derived[:_KEY_BYTES], derived[_KEY_BYTES : _KEY_BYTES + _BLOCK_BYTES]


def _cipher(password: str, salt: bytes) -> Cipher[modes.CBC]:
    # openssl's -k takes the password's bytes as given; the shell hands it UTF-8.
    key, iv = _evp_bytes_to_key(password.encode("utf-8"), salt)
    return Cipher(algorithms.AES256(key), modes.CBC(iv))


def encrypt_config(plain: bytes, password: str) -> bytes:
    """The file to serve as ``cfg<mac>.xml`` to a device whose P1359 is `password`."""
    if not password:
        raise ValueError("empty XML config password (P1359)")
    salt = secrets.token_bytes(SALT_BYTES)
    padder = padding.PKCS7(_BLOCK_BYTES * 8).padder()
    encryptor = _cipher(password, salt).encryptor()
    padded = padder.update(plain) + padder.finalize()
    return MAGIC + salt + encryptor.update(padded) + encryptor.finalize()


def decrypt_config(data: bytes, password: str) -> bytes:
    """The plain config back; ValueError for a wrong password or a damaged file."""
    header = len(MAGIC) + SALT_BYTES
    body = data[header:]
    if not data.startswith(MAGIC) or not body or len(body) % _BLOCK_BYTES:
        raise ValueError("not an OpenSSL 'Salted__' AES-256-CBC file (damaged or not encrypted)")
    decryptor = _cipher(password, data[len(MAGIC) : header]).decryptor()
    unpadder = padding.PKCS7(_BLOCK_BYTES * 8).unpadder()
    padded = decryptor.update(body) + decryptor.finalize()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise ValueError("cannot decrypt the config: wrong password or damaged file") from None
