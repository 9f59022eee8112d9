"""HTTP Digest (RFC 7616, MD5, qop=auth) as devices speak it, with replay refusal.

Nonces are stateless (a timestamp and an HMAC under the service key), so any worker or
instance can check one it did not issue. Each (nonce, nc) pair is accepted once: the pair is
stored in ``spent_nonces`` in the same database every instance shares, and a second insert
of it fails.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from provisioner.db.models import SpentNonce, utcnow

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


def verify(
    session: Session,
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
    age = mint.age(answer.nonce)
    if age is None or age < -5:
        return DigestVerdict.BAD
    right = hmac.compare_digest(answer.username.encode(), user.encode()) & hmac.compare_digest(
        answer.response.lower().encode(), expected_response(answer, password, method).encode()
    )
    if not right:
        return DigestVerdict.BAD
    if age > NONCE_LIFETIME:
        return DigestVerdict.STALE
    expires = utcnow() + dt.timedelta(seconds=NONCE_LIFETIME - age + 60)
    try:
        with session.begin_nested():
            session.execute(
                insert(SpentNonce).values(
                    nonce=answer.nonce[:100], nonce_count=(answer.nc or "")[:8], expires_at=expires
                )
            )
    except IntegrityError:
        return DigestVerdict.REPLAY
    return DigestVerdict.OK


def purge_spent(session: Session) -> int:
    """Forget pairs whose nonce has expired anyway (called now and then)."""
    result = session.execute(delete(SpentNonce).where(SpentNonce.expires_at < utcnow()))
    return cast(CursorResult[Any], result).rowcount or 0  # a DELETE: a cursor result
