"""Which MACs are in service, known to every process without a query per fetch.

Known devices are cached once fetched; without this, an unknown MAC cost a query on every
ask, and the difference showed in the answer's timing although the answer itself is the
same (issue 17). With the set in memory an unknown MAC costs a set lookup and no query, like
a cached known one, so guessing MACs reveals nothing by timing either.

The set follows the inventory as the render cache does: at most once per ``check_interval``
it asks which devices changed since the revision it saw (a new device is named by its
creation, a retired one by its change) and reads back only their rows; everything at the
start or when a change names every file. ``(vendor, MAC)`` pairs: 100,000 devices hold
about 10 MB per process.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from provisioner.db.models import Device, DeviceState
from provisioner.db.render_changes import EVERYTHING
from provisioner.db.session import Database


class KnownMacs:
    def __init__(self, db: Database, check_interval: float = 1.0) -> None:
        self._db = db
        self._check_interval = check_interval
        self._known: frozenset[tuple[str, str]] = frozenset()
        self._seen: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def __contains__(self, key: tuple[str, str]) -> bool:
        """Whether ``(vendor, mac)`` is a device in service (not retired)."""
        self._follow()
        return key in self._known

    def _follow(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._check_interval:
            return
        with self._lock:
            if now - self._checked_at < self._check_interval:
                return
            current, changed = self._db.render_changes(self._seen)
            if EVERYTHING in changed:
                self._known = frozenset(self._rows(None))
            elif changed:
                kept = {pair for pair in self._known if pair[1] not in changed}
                self._known = frozenset(kept | self._rows(changed))
            self._seen, self._checked_at = current, now

    def _rows(self, macs: frozenset[str] | None) -> set[tuple[str, str]]:
        query = select(Device.vendor, Device.mac).where(Device.state != DeviceState.RETIRED)
        if macs is not None:
            query = query.where(Device.mac.in_(macs))
        with self._db.engine.connect() as connection:
            return {(vendor, mac) for vendor, mac in connection.execute(query)}
