"""HTTP Digest (RFC 7616, MD5, qop=auth) as devices speak it, with replay refusal.

Nonces are stateless (a timestamp and an HMAC under the service key), so any worker or
instance can check one it did not issue. Each (nonce, nc) pair is accepted once per instance:
spent pairs live in a small SQLite file that one ``serve`` creates on tmpfs and names to its
own workers (:class:`SpentNonces`), not in the shared database, so a boot storm costs no
shared write per fetch. Why another instance need not know is the threat model in
docs/security.md ("Digest replay").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REALM = "provisioning"
NONCE_LIFETIME = 300  # seconds


@dataclass(frozen=True)
class DigestResponse:
    """The Authorization header's digest fields, as parsed by the front door."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    algorithm: str | None = None


class NonceMint:
    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"digest-nonce\0" + key).digest()

    def issue(self, now: float | None = None) -> str:
        """Timestamp, 8 random bytes (two nonces are never equal), HMAC of both."""
        stamp = struct.pack(">Q", int(now if now is not None else time.time()))
        body = stamp + secrets.token_bytes(8)
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(body + mac).decode("ascii").rstrip("=")

    def age(self, nonce: str, now: float | None = None) -> float | None:
        """Seconds since the nonce was issued, or None if we did not issue it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != 32:
            return None
        body, mac = raw[:16], raw[16:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            return None
        issued: int = struct.unpack(">Q", body[:8])[0]
        return (now if now is not None else time.time()) - issued

    def challenge(self, stale: bool = False) -> str:
        header = f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{self.issue()}"'
        return header + (", stale=true" if stale else "")


def _md5(text: str) -> str:
    # MD5 because it is the only digest algorithm the supported phones speak (RFC 7616 §3.3).
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def expected_response(answer: DigestResponse, password: str, method: str) -> str:
    ha1 = _md5(f"{answer.username}:{answer.realm}:{password}")
    ha2 = _md5(f"{method}:{answer.uri}")
    if answer.qop:
        return _md5(f"{ha1}:{answer.nonce}:{answer.nc}:{answer.cnonce}:{answer.qop}:{ha2}")
    return _md5(f"{ha1}:{answer.nonce}:{ha2}")


class DigestVerdict:
    OK = "ok"
    BAD = "bad"  # wrong user, password, realm or nonce
    STALE = "stale"  # our nonce, expired: the device retries with a fresh one
    REPLAY = "replay"


class SpentNonces:
    """The (nonce, nc) pairs accepted while their nonce lives: each is accepted once.

    ``path`` names the instance's store, a SQLite file every worker of one ``serve`` opens
    (:func:`create_store` makes it before the workers start): the primary key refuses a
    second ``INSERT OR IGNORE`` of a pair from any of them, so a replay is refused
    instance-wide. The file belongs on tmpfs and is written with ``synchronous=OFF``: it
    only has to outlive the nonces (300 s), never a reboot, and a lost file forgets pairs
    whose replay another instance would accept anyway (docs/security.md, "Digest replay").
    Without a path the store is this process's memory (the CLI, tests: one process).
    Only correct answers are spent, so the store grows with honest fetches, and expired pairs
    are deleted every ``purge_every`` spends.
    """

    def __init__(self, path: Path | None = None, purge_every: int = 4096) -> None:
        self._connection = _connect(path)
        if path is None:
            _create_table(self._connection)
        self._purge_every = purge_every
        self._since_purge = 0
        self._lock = threading.Lock()

    def spend(self, nonce: str, nc: str, expires: float, now: float) -> bool:
        """True the first time the pair is presented (it is spent now), False for a replay."""
        with self._lock:
            self._since_purge += 1
            if self._since_purge >= self._purge_every:
                self._since_purge = 0
                self._connection.execute("DELETE FROM spent WHERE expires < ?", (now,))
            cursor = self._connection.execute(
                "INSERT OR IGNORE INTO spent VALUES (?, ?, ?)", (nonce, nc, expires)
            )
            return cursor.rowcount == 1

    def __len__(self) -> int:
        with self._lock:
            count: int = self._connection.execute("SELECT count(*) FROM spent").fetchone()[0]
            return count

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def create_store(path: Path) -> None:
    """The instance's spent-nonce file, made once before its workers open it."""
    connection = _connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")  # persistent: every opener gets it
        _create_table(connection)
    finally:
        connection.close()


def _connect(path: Path | None) -> sqlite3.Connection:
    connection = sqlite3.connect(
        ":memory:" if path is None else str(path),
        isolation_level=None,  # autocommit: each spend is its own short write
        check_same_thread=False,  # one connection per process, behind SpentNonces' lock
        timeout=10,
    )
    connection.execute("PRAGMA synchronous=OFF")
    return connection


def _create_table(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS spent (nonce TEXT, nc TEXT, expires REAL,"
        " PRIMARY KEY (nonce, nc)) WITHOUT ROWID"
    )


def verify(
    spent: SpentNonces,
    mint: NonceMint,
    answer: DigestResponse,
    user: str,
    password: str,
    method: str,
) -> str:
    """Check the answer in constant time; spend its (nonce, nc) when it is right."""
    if answer.algorithm not in (None, "MD5", "md5") or answer.realm != REALM:
        return DigestVerdict.BAD
    if answer.qop not in (None, "auth") or (answer.qop and not (answer.nc and answer.cnonce)):
        return DigestVerdict.BAD
    now = time.time()
    age = mint.age(answer.nonce, now)
    if age is None or age < -5:
        return DigestVerdict.BAD
    right = hmac.compare_digest(answer.username.encode(), user.encode()) & hmac.compare_digest(
        answer.response.lower().encode(), expected_response(answer, password, method).encode()
    )
    if not right:
        return DigestVerdict.BAD
    if age > NONCE_LIFETIME:
        return DigestVerdict.STALE
    if not spent.spend(answer.nonce, answer.nc or "", now - age + NONCE_LIFETIME, now):
        return DigestVerdict.REPLAY
    return DigestVerdict.OK
