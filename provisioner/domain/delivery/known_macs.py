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

from sqlalchemy import select

from provisioner.db.models import Device, DeviceState
from provisioner.db.render_changes import EVERYTHING
from provisioner.db.session import Database
from provisioner.domain.delivery.render_cache import ChangeFollower


class KnownMacs(ChangeFollower):
    def __init__(self, db: Database, check_interval: float = 1.0) -> None:
        super().__init__(db.render_changes, check_interval)
        self._db = db
        self._known: frozenset[tuple[str, str]] = frozenset()

    def __contains__(self, key: tuple[str, str]) -> bool:
        """Whether ``(vendor, mac)`` is a device in service (not retired)."""
        self._follow()
        return key in self._known

    def _apply(self, changed: frozenset[str]) -> None:
        if EVERYTHING in changed:
            self._known = frozenset(self._rows(None))
        elif changed:
            kept = {pair for pair in self._known if pair[1] not in changed}
            self._known = frozenset(kept | self._rows(changed))

    def _rows(self, macs: frozenset[str] | None) -> set[tuple[str, str]]:
        query = select(Device.vendor, Device.mac).where(Device.state != DeviceState.RETIRED)
        if macs is not None:
            query = query.where(Device.mac.in_(macs))
        with self._db.engine.connect() as connection:
            return {(vendor, mac) for vendor, mac in connection.execute(query)}
