"""Which file each device was last served, known the moment it is served (issue 19).

The timeline writer puts fetches on the timeline in batches (every 0.25 s, one queue per HTTP
worker), so for a moment the newest recorded fetch is not the newest fetch. A resync decided
from the recorded events alone then skips a device that fetched a file the admin change just
undid. The pipeline notes each served device file here before answering, and the resync
decides from the newer of this row and the newest recorded fetch.

The write costs one read per device and process until a change touches that device (the memo
is dropped like the device's cached file), and one write only when the served file
or its source differs from the stored one: a boot storm of unchanged files writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from provisioner.db.models import ServedFile, utcnow
from provisioner.db.session import Database
from provisioner.domain.delivery.render_cache import RenderCache


@dataclass(frozen=True)
class Served:
    sha256: str
    source: str
    at: dt.datetime


class ServedFiles:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: RenderCache[tuple[str, str]] = RenderCache(db.render_changes)

    def note(self, mac: str, sha256: str, source: str) -> None:
        """Store that ``mac`` was served the file ``sha256`` to ``source`` now."""
        served = (sha256, source)
        if self._known.get(mac) == served:
            return
        revision = self._known.revision
        with self._db.engine.begin() as connection:
            stored = last_served(connection, mac)
            if stored is None or (stored.sha256, stored.source) != served:
                _upsert(connection, mac, sha256, source, utcnow())
        self._known.put(mac, served, revision, subject=mac)

    def prime(self, limit: int) -> list[str]:
        """Remember the last file of the ``limit`` devices served most recently, in one query,
        and return their MACs: a new worker's first storm then writes only what changed
        without reading each device's row first."""
        self._known.get("")  # follow the inventory first: what is read next is at least as new
        revision = self._known.revision
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(ServedFile.mac, ServedFile.sha256, ServedFile.source)
                .order_by(ServedFile.served_at.desc())
                .limit(limit)
            ).all()
        for mac, sha256, source in rows:
            self._known.put(mac, (sha256, source), revision, subject=mac)
        return [row.mac for row in rows]

    def source(self, mac: str) -> str | None:
        """The address ``mac`` last got its file from: every served device file was proven
        (the bench, its credentials, its first contact), so this is where the device is."""
        known = self._known.get(mac)
        if known is not None:
            return known[1]
        with self._db.engine.connect() as connection:
            stored = last_served(connection, mac)
        return None if stored is None else stored.source


# Built once: a boot storm reads it once per device and worker.
_LAST_SERVED = select(ServedFile.sha256, ServedFile.source, ServedFile.served_at).where(
    ServedFile.mac == bindparam("mac")
)


def last_served(connection: Connection, mac: str) -> Served | None:
    row = connection.execute(_LAST_SERVED, {"mac": mac}).first()
    return None if row is None else Served(row.sha256, row.source, row.served_at)


def _upsert(connection: Connection, mac: str, sha256: str, source: str, at: dt.datetime) -> None:
    """Insert or update in one statement: two workers may serve a new device at once. An
    older serving never overwrites a newer one."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ServedFile).values(
        mac=mac, sha256=sha256, source=source, served_at=at
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[ServedFile.mac],
            set_={
                "sha256": statement.excluded.sha256,
                "source": statement.excluded.source,
                "served_at": statement.excluded.served_at,
            },
            where=ServedFile.served_at <= statement.excluded.served_at,
        )
    )
