"""Rendered files (and the devices behind them) kept per process until a row they are made of
changes.

After a power cut every device fetches at once; rendering each file means several queries,
decrypting secrets and a template. A file is the same until a row it is made of changes;
every such change moves the inventory revision and names the devices whose files it may
change, in its own transaction (``provisioner.db.render_changes``). The cache asks at most
once per ``check_interval`` seconds what changed since the revision it saw and drops the
entries of those devices only (everything when a change names every file), so a change
reaches devices within that interval and one device's change costs no other device its file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from provisioner.db.render_changes import EVERYTHING


@dataclass(frozen=True, slots=True)
class RenderedFile:
    body: bytes
    content_type: str
    sha256: str


V = TypeVar("V")

# Seconds between two looks at what changed: a change reaches every worker within it.
CHECK_INTERVAL = 1.0

# seen revision (None: nothing seen yet) -> the revision now and whose files changed since
Changes = Callable[[int | None], tuple[int, frozenset[str]]]


def any_change(revision: Callable[[], int]) -> Changes:
    """Changes for a value made of rows of every device (the firmware policy): any move of
    the revision drops it."""

    def changes(seen: int | None) -> tuple[int, frozenset[str]]:
        current = revision()
        return current, frozenset() if current == seen else frozenset({EVERYTHING})

    return changes


class ChangeFollower:
    """Something kept in memory per process that follows the inventory: at most once per
    ``check_interval`` it asks what changed since the revision it saw and applies that."""

    def __init__(self, changes: Changes, check_interval: float = CHECK_INTERVAL) -> None:
        self._changes = changes
        self._check_interval = check_interval
        self._seen_revision: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def _follow(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._check_interval:
            return
        with self._lock:
            if now - self._checked_at < self._check_interval:
                return
            current, changed = self._changes(self._seen_revision)
            self._apply(changed)
            self._seen_revision = current
            self._checked_at = now

    def _apply(self, changed: frozenset[str]) -> None:
        """Drop or reload what ``changed`` names (``EVERYTHING``: all); under the lock."""
        raise NotImplementedError


class RenderCache(ChangeFollower, Generic[V]):
    """Values keyed by anything, each tagged with the device (MAC) it is made of, if any:
    an untagged value (a file every device of a model fetches) goes with ``EVERYTHING``."""

    def __init__(
        self,
        changes: Changes,
        check_interval: float = CHECK_INTERVAL,
        max_entries: int = 100_000,
        weigh: Callable[[V], int] = lambda value: 0,
        max_weight: int | None = None,
    ) -> None:
        """``weigh`` and ``max_weight`` bound what the values hold (a file's bytes): past
        either bound the oldest values go first."""
        super().__init__(changes, check_interval)
        self._max_entries = max_entries
        self._weigh = weigh
        self._max_weight = max_weight
        self._weight = 0
        self._values: dict[Hashable, tuple[V, str | None, int]] = {}
        self._by_subject: dict[str, set[Hashable]] = {}

    def get(self, key: Hashable) -> V | None:
        self._follow()
        entry = self._values.get(key)
        return None if entry is None else entry[0]

    def put(
        self, key: Hashable, value: V, revision: int | None, subject: str | None = None
    ) -> None:
        """Keep a value made at ``revision`` (read before making it), if still current;
        ``subject`` is the MAC of the device it is made of."""
        with self._lock:
            if revision is None or revision != self._seen_revision:
                return
            self._forget(key)
            weight = self._weigh(value)
            while self._values and (
                len(self._values) >= self._max_entries
                or (self._max_weight is not None and self._weight + weight > self._max_weight)
            ):
                self._forget(next(iter(self._values)))
            self._values[key] = (value, subject, weight)
            self._weight += weight
            if subject is not None:
                self._by_subject.setdefault(subject, set()).add(key)

    @property
    def revision(self) -> int | None:
        return self._seen_revision

    def __len__(self) -> int:
        return len(self._values)

    @property
    def weight(self) -> int:
        return self._weight

    def _forget(self, key: Hashable) -> None:
        entry = self._values.pop(key, None)
        if entry is not None:
            self._weight -= entry[2]
        if entry is not None and entry[1] is not None:
            keys = self._by_subject.get(entry[1])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_subject[entry[1]]

    def _apply(self, changed: frozenset[str]) -> None:
        if EVERYTHING in changed:
            self._values.clear()
            self._by_subject.clear()
            self._weight = 0
            return
        for subject in changed:
            for key in self._by_subject.pop(subject, ()):
                entry = self._values.pop(key, None)
                if entry is not None:
                    self._weight -= entry[2]
