"""Per-source rate limit and lockout against MAC enumeration and password guessing.

Each source address has a bucket of tokens that refills slowly. What an honest device does
costs little (one challenge per fetch, refunded when it then authenticates); what an attacker
does costs more (unknown names, wrong passwords). An empty bucket locks the source out: it
gets nothing, not even for a valid name, until the lockout ends.

State is per process (each HTTP worker and the TFTP process keep their own), which keeps the
hot path free of shared writes; an attacker is locked out by each worker in turn.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


class Cost(enum.IntEnum):
    ROUTINE = 1  # a challenge, or a fallback file every device asks for (cfg<mac>, cfg.xml)
    UNKNOWN_NAME = 10  # a file name no device ever asks for
    BAD_CREDENTIALS = 20  # a wrong password, a replayed nonce


@dataclass
class _Bucket:
    tokens: float
    updated: float
    locked_until: float = 0.0


class SourceLimiter:
    def __init__(
        self,
        capacity: float = 300.0,
        refill_per_second: float = 1.0,
        lockout_seconds: float = 600.0,
        max_sources: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.refill = refill_per_second
        self.lockout = lockout_seconds
        self._max_sources = max_sources
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def locked(self, source: str) -> bool:
        with self._lock:
            bucket = self._buckets.get(source)
            return bucket is not None and bucket.locked_until > self._clock()

    def charge(self, source: str, cost: Cost) -> bool:
        """Take ``cost`` tokens; True when this charge locked the source out."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(source, now)
            bucket.tokens -= cost
            if bucket.tokens < 0 and bucket.locked_until <= now:
                bucket.locked_until = now + self.lockout
                bucket.tokens = self.capacity  # a fresh start once the lockout ends
                return True
            return False

    def refund(self, source: str, amount: float = Cost.ROUTINE) -> None:
        with self._lock:
            bucket = self._bucket(source, self._clock())
            bucket.tokens = min(self.capacity, bucket.tokens + amount)

    def _bucket(self, source: str, now: float) -> _Bucket:
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self._max_sources:
                self._buckets.popitem(last=False)  # forget the longest-quiet source
            bucket = self._buckets[source] = _Bucket(self.capacity, now)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill)
        bucket.updated = now
        return bucket
