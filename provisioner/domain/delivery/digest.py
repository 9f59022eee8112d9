"""HTTP Digest (RFC 7616, MD5, qop=auth) as devices speak it, with replay refusal.

Nonces are stateless (a timestamp and an HMAC under the service key), so any worker or
instance can check one it did not issue. Each (nonce, nc) pair is accepted once by the process
that sees it: spent pairs are kept in that process's memory for the nonce's lifetime
(:class:`SpentNonces`), not written to the shared database, so a boot storm costs no write
per fetch. Why that is enough is the threat model in docs/security.md ("Digest replay").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from provisioner.db.models import SpentNonce
from provisioner.db.session import Database

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

    A replay to this process is refused from memory, without a query. Given the shared
    database, every accepted pair is also inserted into ``spent_nonces``, whose key refuses a
    second insert: a replay that reaches another worker or another instance is refused too
    (the issue-12 measurement of skipping that write, and why it was not taken: docs/security.md,
    "Digest replay"). Memory is bounded: past ``max_pairs`` the oldest pair is forgotten first
    (insertion order is acceptance order; every pair lives the same ``NONCE_LIFETIME``), and
    the table still refuses it.
    """

    def __init__(self, db: Database | None = None, max_pairs: int = 200_000) -> None:
        self._db = db
        self._max_pairs = max_pairs
        self._pairs: OrderedDict[tuple[str, str], float] = OrderedDict()  # -> expiry (wall)
        self._lock = threading.Lock()

    def spend(self, nonce: str, nc: str, expires: float, now: float) -> bool:
        """True the first time the pair is presented (it is spent now), False for a replay."""
        pair = (nonce, nc)
        with self._lock:
            while self._pairs and next(iter(self._pairs.values())) < now:
                self._pairs.popitem(last=False)
            if pair in self._pairs:
                return False
            if len(self._pairs) >= self._max_pairs:
                self._pairs.popitem(last=False)
            self._pairs[pair] = expires
        return self._db is None or self._spend_shared(nonce, nc, expires)

    def _spend_shared(self, nonce: str, nc: str, expires: float) -> bool:
        """Insert the pair where every worker and instance looks; False if one already did."""
        assert self._db is not None
        try:
            with self._db.session() as session:
                session.execute(
                    insert(SpentNonce).values(
                        nonce=nonce[:100],
                        nonce_count=nc[:8],
                        expires_at=dt.datetime.fromtimestamp(expires + 60, dt.UTC),
                    )
                )
        except IntegrityError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._pairs)


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
