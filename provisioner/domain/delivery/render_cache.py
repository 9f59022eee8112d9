"""Rendered files (and the devices behind them) kept per process while the inventory stands still.

After a power cut every device fetches at once; rendering each file means several queries,
decrypting secrets and a template. A file is the same until a row it is made of changes, and
every such change bumps the inventory revision in its own transaction. The cache reads the
revision at most once per ``check_interval`` seconds and drops everything when it moved, so
a change reaches devices within that interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass(frozen=True)
class RenderedFile:
    body: bytes
    content_type: str
    sha256: str


V = TypeVar("V")


class RenderCache(Generic[V]):
    def __init__(
        self,
        revision: Callable[[], int],
        check_interval: float = 1.0,
        max_entries: int = 100_000,
    ) -> None:
        self._revision = revision
        self._check_interval = check_interval
        self._max_entries = max_entries
        self._files: dict[Hashable, V] = {}
        self._seen_revision: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        self._check_revision()
        return self._files.get(key)

    def put(self, key: Hashable, rendered: V, revision: int | None) -> None:
        """Keep a value made at ``revision`` (read before making it), if still current."""
        with self._lock:
            if revision is None or revision != self._seen_revision:
                return
            if len(self._files) >= self._max_entries:
                self._files.pop(next(iter(self._files)))
            self._files[key] = rendered

    @property
    def revision(self) -> int | None:
        return self._seen_revision

    def _check_revision(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._check_interval:
            return
        with self._lock:
            if now - self._checked_at < self._check_interval:
                return
            current = self._revision()
            if current != self._seen_revision:
                self._files.clear()
                self._seen_revision = current
            self._checked_at = now
