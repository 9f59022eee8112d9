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

import lz4.block

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


class _Tier(Generic[V]):
    """Values in the order they came, each tagged with its device, bounded in count and in
    weight: past a bound the oldest go first."""

    def __init__(self, max_entries: int, weigh: Callable[[V], int], max_weight: int | None) -> None:
        self.max_entries = max_entries
        self.weigh = weigh
        self.max_weight = max_weight
        self.weight = 0
        self.values: dict[Hashable, tuple[V, str | None, int]] = {}
        self.by_subject: dict[str, set[Hashable]] = {}

    def add(self, key: Hashable, value: V, subject: str | None) -> None:
        self.forget(key)
        weight = self.weigh(value)
        while self.values and (
            len(self.values) >= self.max_entries
            or (self.max_weight is not None and self.weight + weight > self.max_weight)
        ):
            self.forget(next(iter(self.values)))
        self.values[key] = (value, subject, weight)
        self.weight += weight
        if subject is not None:
            self.by_subject.setdefault(subject, set()).add(key)

    def has_room(self, value: V) -> bool:
        return self.max_weight is None or self.weight + self.weigh(value) <= self.max_weight

    def forget(self, key: Hashable) -> None:
        entry = self.values.pop(key, None)
        if entry is None:
            return
        self.weight -= entry[2]
        if entry[1] is not None and (keys := self.by_subject.get(entry[1])) is not None:
            keys.discard(key)
            if not keys:
                del self.by_subject[entry[1]]

    def drop(self, changed: frozenset[str]) -> None:
        """Forget the values of the devices ``changed`` names (``EVERYTHING``: all)."""
        if EVERYTHING in changed:
            self.values.clear()
            self.by_subject.clear()
            self.weight = 0
            return
        for subject in changed:
            for key in self.by_subject.pop(subject, ()):
                entry = self.values.pop(key, None)
                if entry is not None:
                    self.weight -= entry[2]


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
        self._tier: _Tier[V] = _Tier(max_entries, weigh, max_weight)

    def get(self, key: Hashable) -> V | None:
        self._follow()
        entry = self._tier.values.get(key)
        return None if entry is None else entry[0]

    def put(
        self, key: Hashable, value: V, revision: int | None, subject: str | None = None
    ) -> None:
        """Keep a value made at ``revision`` (read before making it), if still current;
        ``subject`` is the MAC of the device it is made of."""
        with self._lock:
            if revision is not None and revision == self._seen_revision:
                self._tier.add(key, value, subject)

    @property
    def revision(self) -> int | None:
        return self._seen_revision

    def __len__(self) -> int:
        return len(self._tier.values)

    @property
    def weight(self) -> int:
        return self._tier.weight

    def _apply(self, changed: frozenset[str]) -> None:
        self._tier.drop(changed)


class FileCache(RenderCache[RenderedFile]):
    """Rendered files in two tiers: as sent, and every one of them also compressed.

    A worker's memory holds a few thousand files as sent (1-17 KB each); a region's storm asks
    for ten thousand or more, in no order a cache can predict, so a plain cache of the newest
    mostly misses, and a miss reads the render store (a query and a decryption: about 150 us,
    and at 10,000 devices most of a field fetch). Compressed, a file is about a third of
    its size (10,000 devices: about 16 MB) and comes back in about 1.3 us, so the second tier
    keeps every file the worker has made or read. A file taken from it goes back to the first
    tier while that has room; a full first tier keeps what it holds until a render replaces
    it (a storm walking more devices than it holds, each in turn, would otherwise push out
    every file just before it is asked for again).
    """

    def __init__(
        self,
        changes: Changes,
        plain_bytes: int,
        packed_bytes: int,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        super().__init__(changes, check_interval, weigh=_plain_weight, max_weight=plain_bytes)
        # bounded by its bytes: the count bound is only there because a tier has one
        self._packed: _Tier[tuple[bytes, str, str]] = _Tier(1_000_000, _packed_weight, packed_bytes)

    def get(self, key: Hashable) -> RenderedFile | None:
        self._follow()
        entry = self._tier.values.get(key)
        if entry is not None:
            return entry[0]
        packed = self._packed.values.get(key)
        if packed is None:
            return None
        body, content_type, sha256 = packed[0]
        file = RenderedFile(unpack(body), content_type, sha256)
        with self._lock:
            # no change dropped it meanwhile, and the first tier has room
            if self._packed.values.get(key) is packed and self._tier.has_room(file):
                self._tier.add(key, file, packed[1])
        return file

    def put(
        self,
        key: Hashable,
        value: RenderedFile,
        revision: int | None,
        subject: str | None = None,
        packed: bytes | None = None,
    ) -> None:
        """As :meth:`RenderCache.put`; ``packed``: the body already compressed (``pack``)."""
        if revision is None or revision != self._seen_revision:
            return
        packed = pack(value.body) if packed is None else packed
        with self._lock:
            if revision == self._seen_revision:
                self._tier.add(key, value, subject)
                self._packed.add(key, (packed, value.content_type, value.sha256), subject)

    @property
    def packed_weight(self) -> int:
        return self._packed.weight

    def _apply(self, changed: frozenset[str]) -> None:
        self._tier.drop(changed)
        self._packed.drop(changed)


def pack(body: bytes) -> bytes:
    """A file's body as the second tier and the render store keep it: LZ4, which gives a
    config back in about 1.3 us (Zstandard 5, zlib 16, timed over the 10,000 files of
    ``bench.boot_storm``) at a third of its size. A boot storm unpacks most of its files, so
    speed counts for more than the last megabytes (Zstandard's files were 40% smaller)."""
    packed: bytes = lz4.block.compress(body)
    return packed


def unpack(packed: bytes) -> bytes:
    """A body ``pack`` made (``lz4.block.LZ4BlockError`` if it is not one)."""
    body: bytes = lz4.block.decompress(packed)
    return body


def _plain_weight(file: RenderedFile) -> int:
    return len(file.body) + 200  # the body and about what its objects cost around it


def _packed_weight(packed: tuple[bytes, str, str]) -> int:
    return len(packed[0]) + 200
