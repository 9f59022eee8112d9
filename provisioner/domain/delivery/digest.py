"""HTTP Digest (RFC 7616, MD5, qop=auth) as devices speak it, with replay refusal.

Nonces are stateless (a timestamp and a MAC under the service key), so any worker or
instance can check one it did not issue. Each (nonce, nc) pair is accepted once per instance:
spent pairs live in a small table file that one ``serve`` creates on tmpfs and its own
workers map (:class:`SpentNonces`), not in the shared database, so a boot storm costs no
shared write per fetch. Why another instance need not know is the threat model in
docs/security.md ("Digest replay").
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import mmap
import os
import secrets
import struct
import threading
import time
from pathlib import Path
from typing import NamedTuple

REALM = "provisioning"
NONCE_LIFETIME = 300  # seconds


class DigestResponse(NamedTuple):
    """The Authorization header's digest fields, as parsed by the front door (a named tuple:
    one per authenticated fetch)."""

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
    """Nonces any worker or instance can check: a timestamp, 8 random bytes and a keyed
    BLAKE2b of both. Two are made or checked per Digest fetch; BLAKE2b costs a fifth of the
    HMAC-SHA256 it replaced (0.7 against 3.3 us, more when the storm has the CPU's caches)."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"digest-nonce\0" + key).digest()

    def issue(self, now: float | None = None) -> str:
        """Timestamp, 8 random bytes (two nonces are never equal), the MAC of both."""
        stamp = struct.pack(">Q", int(now if now is not None else time.time()))
        body = stamp + os.urandom(8)
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii").rstrip("=")

    def age(self, nonce: str, now: float | None = None) -> float | None:
        """Seconds since the nonce was issued, or None if we did not issue it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != 32:
            return None
        body, mac = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        issued: int = struct.unpack(">Q", body[:8])[0]
        return (now if now is not None else time.time()) - issued

    def _mac(self, body: bytes) -> bytes:
        return hashlib.blake2b(body, key=self._key, digest_size=16).digest()

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

    ``path`` names the instance's store, a file every worker of one ``serve`` maps
    (:func:`create_store` makes it on tmpfs before the workers start): an open-addressing
    table of ``SLOTS`` slots, each a pair's 64-bit keyed fingerprint and its expiry. A spend
    looks at most ``WINDOW`` slots from the fingerprint's home under an exclusive ``lockf``
    on the file, so a replay is refused whichever worker of the instance it reaches. A
    blocked ``lockf`` is woken by the kernel the moment the holder lets go: a shared SQLite
    file did the same job, but its busy handler sleeps milliseconds when another process
    holds the lock, and under a storm that was a quarter of a worker's time (py-spy). The
    file only has to outlive the nonces (300 s), never a reboot; a lost file forgets pairs
    whose replay another instance would accept anyway (docs/security.md, "Digest replay").

    Only correct answers are spent, and an expired slot is reused, so the table holds the
    pairs of the last 300 s: up to about a million. Should a window ever be full of live
    pairs, the one that expires first is forgotten (that pair could be replayed once more,
    within its nonce's life). Without a path the table is this process's memory (the CLI,
    tests: one process).
    """

    SLOTS = 1 << 20  # 12 MiB of 12-byte slots
    WINDOW = 32

    def __init__(self, path: Path | None = None, slots: int = SLOTS) -> None:
        size = _HEADER + slots * _SLOT.size
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, size)
            self._map[:_HEADER] = secrets.token_bytes(_HEADER)
        else:
            self._fd = os.open(path, os.O_RDWR)
            if os.fstat(self._fd).st_size != size:
                os.close(self._fd)
                raise ValueError(f"{path} is not a spent-nonce table of {slots} slots")
            self._map = mmap.mmap(self._fd, size)
        self._key = bytes(self._map[:_HEADER])  # the same for every worker of the instance
        self._mask = slots - 1
        self._lock = threading.Lock()  # this process's threads; lockf: the other workers

    def spend(self, nonce: str, nc: str, expires: float, now: float) -> bool:
        """True the first time the pair is presented (it is spent now), False for a replay."""
        digest = hashlib.blake2b(f"{nonce}:{nc}".encode(), digest_size=8, key=self._key)
        fingerprint = int.from_bytes(digest.digest(), "little") or 1  # 0 marks an empty slot
        home, table, clock = fingerprint & self._mask, self._map, int(now)
        with self._lock:
            if self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                free = oldest = None
                oldest_expiry = 1 << 32
                for step in range(self.WINDOW):
                    offset = _HEADER + ((home + step) & self._mask) * _SLOT.size
                    held, expiry = _SLOT.unpack_from(table, offset)
                    if held == fingerprint and expiry >= clock:
                        return False
                    if free is None and (held == 0 or expiry < clock):
                        free = offset
                    if held == 0:
                        break  # slots fill in order: nothing of ours lies past an empty one
                    if expiry < oldest_expiry:
                        oldest, oldest_expiry = offset, expiry
                target = free if free is not None else oldest
                assert target is not None
                _SLOT.pack_into(table, target, fingerprint, int(expires) + 1)
                return True
            finally:
                if self._fd is not None:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            self._map.close()
            if self._fd is not None:
                os.close(self._fd)


_SLOT = struct.Struct("<QI")  # fingerprint, expiry (whole seconds since the epoch)
_HEADER = 16  # the fingerprints' key, random per store


def create_store(path: Path, slots: int = SpentNonces.SLOTS) -> None:
    """The instance's spent-nonce table, made once before its workers map it: a random key
    and empty slots (a sparse file; tmpfs gives it pages as they are written)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(_HEADER))
        os.ftruncate(fd, _HEADER + slots * _SLOT.size)
    finally:
        os.close(fd)


def verify(
    spent: SpentNonces,
    mint: NonceMint,
    answer: DigestResponse,
    user: str,
    password: str,
    method: str,
) -> str:
    """Check the answer in constant time; spend its (nonce, nc) when it is right.

    A right answer to a nonce we cannot read (made under another key or by an earlier
    release, during a deploy) or no longer take (expired) is stale, not wrong: only the
    device knows its password, and it retries with the fresh nonce, charged nothing."""
    if answer.algorithm not in (None, "MD5", "md5") or answer.realm != REALM:
        return DigestVerdict.BAD
    if answer.qop not in (None, "auth") or (answer.qop and not (answer.nc and answer.cnonce)):
        return DigestVerdict.BAD
    now = time.time()
    age = mint.age(answer.nonce, now)
    if age is not None and age < -5:
        return DigestVerdict.BAD
    right = hmac.compare_digest(answer.username.encode(), user.encode()) & hmac.compare_digest(
        answer.response.lower().encode(), expected_response(answer, password, method).encode()
    )
    if not right:
        return DigestVerdict.BAD
    if age is None or age > NONCE_LIFETIME:
        return DigestVerdict.STALE
    if not spent.spend(answer.nonce, answer.nc or "", now - age + NONCE_LIFETIME, now):
        return DigestVerdict.REPLAY
    return DigestVerdict.OK
