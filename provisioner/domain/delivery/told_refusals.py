"""Which refusals go on a device's timeline: once per device and reason per interval, and
never more than a fixed number a second in all.

Support needs to see that a phone knocks with the wrong password or from a network its tenant
does not allow (``device doctor``), but a phone retries every few seconds, a boot storm of
phones under a stale password refuses thousands at once, and an attacker can repeat a refusal
as fast as the network carries it. So the pipeline tells the timeline the first refusal of a
kind per device per interval and drops the repeats, and a global budget per second caps what a
storm of distinct devices can add to the timeline writer's queue. Every refusal is still
counted and logged as a security event; only the timeline is spared.

State is per process, like the rate limiter's: each HTTP worker tells at most once per
interval, so a device's timeline gets at most one such event per worker and interval.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

INTERVAL = 60.0  # seconds between two events of the same device and reason
PER_SECOND = 100  # events a second, all devices together
MAX_KEYS = 65_536  # remembered (device, reason) pairs; the longest-quiet one is forgotten


class ToldRefusals:
    """``tell(mac, reason)`` is True when this refusal should go on the timeline."""

    def __init__(
        self,
        interval: float = INTERVAL,
        per_second: int = PER_SECOND,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._per_second = per_second
        self._max_keys = max_keys
        self._clock = clock
        self._last: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._second = 0
        self._spent = 0
        self._lock = threading.Lock()

    def tell(self, mac: str, reason: str) -> bool:
        with self._lock:
            now = self._clock()
            key = (mac, reason)
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                return False
            second = int(now)
            if second != self._second:
                self._second, self._spent = second, 0
            if self._spent >= self._per_second:
                return False  # a storm: this one is in the security log only
            self._spent += 1
            self._last[key] = now
            self._last.move_to_end(key)
            if len(self._last) > self._max_keys:
                self._last.popitem(last=False)
            return True
