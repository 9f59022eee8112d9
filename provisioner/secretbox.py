"""Encryption of secrets at rest (SIP passwords, device credentials) with one service key.

The key is ``PROVISIONER_SECRET_KEY`` (urlsafe base64 of 32 bytes, i.e. a Fernet key). For
the demo and a first local run, a key file is created beside the database with mode 0600;
production sets the variable so that the key never sits next to the data it protects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

# Letters and digits without look-alikes: safe in XML, in Panasonic's quoted values, in a
# URL's user-info part and when read aloud to a customer.
SAFE_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class SecretKeyError(RuntimeError):
    """The key is missing, malformed, or not the one the data was encrypted with."""


def generate_secret(length: int = 20, alphabet: str = SAFE_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class SecretBox:
    def __init__(self, key: str) -> None:
        """``key`` is one key or, while a rotation runs, ``NEW,OLD``: secrets are encrypted
        under the first and read under either (docs/operations.md, 'Key rotation')."""
        keys = [part.strip() for part in key.split(",") if part.strip()]
        try:
            self._readers = tuple(Fernet(part.encode("ascii")) for part in keys)
            self._raw = tuple(base64.urlsafe_b64decode(part.encode("ascii")) for part in keys)
        except (ValueError, UnicodeEncodeError) as exc:
            raise SecretKeyError(
                "PROVISIONER_SECRET_KEY must be urlsafe base64 of 32 bytes; "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc
        if not keys:
            raise SecretKeyError("PROVISIONER_SECRET_KEY is empty")
        self._key = self._raw[0]
        self._fernet = MultiFernet(self._readers)

    def derive_key(self, purpose: str) -> bytes:
        """A key of its own for one purpose (signing session cookies, say), from the service key:
        every worker derives the same one, and it opens no stored secret."""
        return hmac.new(self._key, b"derive\0" + purpose.encode("utf-8"), hashlib.sha256).digest()

    @property
    def readers(self) -> tuple[Fernet, ...]:
        """Every configured key's cipher, the writing one first (for a key rotation)."""
        return self._readers

    def fingerprint(self) -> str:
        """Names the writing key in backups and logs without revealing it: a derived value,
        so knowing it helps neither to decrypt nor to guess the key."""
        return self.fingerprints()[0]

    def fingerprints(self) -> tuple[str, ...]:
        """Each configured key's fingerprint, the writing one first."""
        return tuple(
            hmac.new(raw, b"derive\0key-fingerprint", hashlib.sha256).hexdigest()[:16]
            for raw in self._raw
        )

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret does not decrypt: PROVISIONER_SECRET_KEY is not the key "
                "this database was written with"
            ) from exc


def load_key(configured: str, key_file: Path) -> str:
    """The configured key, else the key file's (created on first use, readable by us only)."""
    if configured:
        return configured
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    key = Fernet.generate_key().decode("ascii")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    log.warning("no PROVISIONER_SECRET_KEY set: created %s (keep it with the database)", key_file)
    return key
