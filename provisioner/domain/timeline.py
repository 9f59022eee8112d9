"""Writes fetch events to device timelines in batches, off the request path.

After a power cut thousands of phones fetch at once; one INSERT and COMMIT per fetch would
make the database the bottleneck. Events are queued and written by one thread every few
hundred milliseconds; ``flush()`` drains the queue (tests, shutdown). Observers see each written
batch after its commit (the bench stages devices, firmware follows downloads: off the fetch path).

That thread shares the GIL with the requests of its process, so a batch is made cheap: one
INSERT compiled per dialect and run with positional rows, devices' ids remembered (forgotten
when the inventory revision names them changed: one indexed read per batch), and firmware
reports compared with what is stored in one query before any UPDATE.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import operator
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

from sqlalchemy import Dialect, String, Table, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent
from provisioner.db.render_changes import EVERYTHING
from provisioner.db.session import Database

# The events table as Core sees it: batches go in as one executemany, without the ORM.
_EVENTS = cast(Table, DeviceEvent.__table__)
# Each text field's column width: what a device (or anyone) says is cut to it before it is
# stored, so a 60 KB User-Agent costs 255 bytes and never fails a batch on PostgreSQL.
_WIDTHS = {
    column.name: column.type.length
    for column in _EVENTS.columns
    if isinstance(column.type, String) and column.type.length is not None
}

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    """What a device timeline entry (``DeviceEvent.kind``) records; stored as its value."""

    FETCH = "fetch"  # a file served to the device
    REFUSED = "refused"  # a fetch answered with an error
    DOWNLOAD = "download"  # a whole firmware image downloaded (loop detection)
    DHCP = "dhcp"  # a bench DHCP lease event (dnsmasq's add, old, del)
    STATE = "state"  # a lifecycle transition
    IMPORT = "import"  # bound by a sheet import
    NOTIFY = "notify"  # a SIP NOTIFY resync was sent
    POE = "poe"  # seen on a PoE port, moved, or power-cycled
    ALERT = "alert"  # held by the firmware watcher
    LICENCE = "licence"  # a gateway licence issued
    REGISTRATION = "registration"  # a line registered, unregistered or expired on a PBX core


class Event(NamedTuple):
    """One timeline entry. A named tuple whose fields after ``at`` are the table's columns in
    their order: a boot storm builds one per fetch on the request thread, and the writer
    makes its row by slicing it (a frozen dataclass cost three times as much to build). The
    time is the caller's to give: the writer stores the event up to a batch later."""

    mac: str
    kind: EventKind  # FETCH, REFUSED, DOWNLOAD: what fetches write in batches
    at: dt.datetime  # when it happened
    protocol: str | None = None
    filename: str | None = None
    source: str | None = None
    user_agent: str | None = None
    firmware: str | None = None
    status: int | None = None
    sha256: str | None = None
    detail: str | None = None


Observer = Callable[[Sequence[tuple[int, Event]]], None]  # (device id, event) written


@runtime_checkable
class Forgetful(Protocol):
    """An observer that remembers devices between batches (to spare queries) is told, before
    each batch, whose rows changed since the last: ``changed`` holds MACs, or ``EVERYTHING``."""

    def forget(self, changed: frozenset[str]) -> None: ...


# The INSERT's columns in the table's order: an event's fields, its MAC made the device id.
# A row is (device id, the time as the column binds it, kind, *the rest of the event).
_REST = Event._fields.index("at") + 1
_COLUMNS = ("device_id", "at", "kind", *Event._fields[_REST:])
# The text fields an event can carry and how many characters each column keeps.
_TEXTS = tuple(name for name in _COLUMNS[1:] if isinstance(_EVENTS.c[name].type, String))
_TEXT_WIDTHS = tuple(_WIDTHS.get(name, sys.maxsize) for name in _TEXTS)
_texts = operator.attrgetter(*_TEXTS)


@dataclass(frozen=True)
class _Insert:
    """The batch INSERT for one dialect, compiled once: run at the DBAPI level with
    positional rows, it costs a fraction of what Core spends binding a dict per row."""

    sql: str
    stamp: Callable[[dt.datetime], object]  # the time as the column type binds it

    @classmethod
    def of(cls, dialect: Dialect) -> _Insert:
        # Compiled for positional parameters (SQLite's are; psycopg's "%s" form is one too).
        maker: Any = type(dialect)  # a dialect's class takes the paramstyle it renders
        positional = dialect if dialect.positional else maker(paramstyle="format")
        compiled = insert(_EVENTS).compile(
            dialect=positional, column_keys=list(_COLUMNS), for_executemany=True
        )
        if tuple(compiled.positiontup or ()) != _COLUMNS:
            raise ValueError(f"{_EVENTS.name}'s INSERT binds {compiled.positiontup}")
        processors = {
            name: _EVENTS.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _COLUMNS
        }
        if any(processor is not None for name, processor in processors.items() if name != "at"):
            raise ValueError(f"a column of {_EVENTS.name} converts its values on {dialect.name}")
        stamp = processors["at"]
        if stamp is None:
            return cls(compiled.string, _unchanged)
        # SQLite stores text: SQLAlchemy's formatting, or the same bytes made in C where they
        # are the same (its default storage format, as of this writing).
        same = all(stamp(at) == _iso_text(at) for at in _STAMP_PROBES)
        return cls(compiled.string, _iso_text if same else stamp)


def _unchanged(value: dt.datetime) -> object:
    return value


def _iso_text(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff``: the fields as they are, the zone (``+00:00``, after
    these 26 characters: a datetime's year has four digits) left out."""
    return value.isoformat(" ", "microseconds")[:26]


_STAMP_PROBES = (
    dt.datetime(2026, 12, 6, 14, 5, 19, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # no microseconds
    dt.datetime(999, 12, 31, 23, 59, 59, 999999),  # naive, a three-digit year
    dt.datetime(2026, 6, 1, 12, 0, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
)


class TimelineWriter:
    def __init__(
        self,
        db: Database,
        interval: float = 0.25,
        batch: int = 2000,
        observers: Sequence[Observer] = (),
    ) -> None:
        """``observers`` get each written batch on the writer's thread: what follows
        events (bench staging, firmware loop detection) stays off the request path."""
        self._db = db
        self._observers = tuple(observers)
        self._interval = interval
        self._batch = batch
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._inserts: dict[str, _Insert] = {}
        # MAC -> device id of the devices found so far (a device's id never changes); an entry
        # goes when the inventory says the device changed (deleted, say), so that a deleted
        # device's events are dropped as they always were. Unknown MACs are asked again.
        self._ids: dict[str, int] = {}
        self._seen_revision: int | None = None

    def record(self, event: Event) -> None:
        self._queue.put(event)

    @staticmethod
    def bounded(event: Event) -> Event:
        """The event as it can be stored: every text field cut to its column's width, NUL
        characters (which PostgreSQL refuses in text) removed. Unchanged in the usual case,
        which costs one pass over the fields (this runs for every fetch of a boot storm)."""
        for value, width in zip(_texts(event), _TEXT_WIDTHS, strict=True):
            if value is not None and (len(value) > width or "\0" in value):
                break
        else:
            return event
        changes: dict[str, Any] = {}
        for name, width in zip(_TEXTS, _TEXT_WIDTHS, strict=True):
            value = getattr(event, name)
            if value is not None and (len(value) > width or "\0" in value):
                changes[name] = value.replace("\0", "")[:width]
        return event._replace(**changes)

    def start(self) -> TimelineWriter:
        self._thread = threading.Thread(target=self._run, name="timeline-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def flush(self) -> int:
        """Write everything queued so far; returns how many events were written."""
        written = 0
        with self._lock:
            while True:
                events = self._drain()
                if not events:
                    return written
                self._follow_inventory()
                stored = self._write_each_if_needed(events)
                written += len(events)
                self._notify(stored)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.flush()
            except Exception:
                log.exception("a batch of timeline events was lost")

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while len(events) < self._batch:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return events

    def _follow_inventory(self) -> None:
        """Forget what may have changed since the last batch (one indexed read when nothing
        did): the devices the inventory names as changed, or everything."""
        try:
            self._seen_revision, changed = self._db.render_changes(self._seen_revision)
        except SQLAlchemyError:
            log.warning("the inventory revision could not be read: forgetting every device")
            self._seen_revision, changed = None, frozenset({EVERYTHING})
        if not changed:
            return
        if EVERYTHING in changed:
            self._ids.clear()
        else:
            for mac in changed:
                self._ids.pop(mac, None)
        for observer in self._observers:
            if isinstance(observer, Forgetful):
                observer.forget(changed)

    def _write_each_if_needed(self, events: list[Event]) -> list[tuple[int, Event]]:
        """The batch in one transaction; should the database refuse it, each event in its
        own, so one row it cannot take never loses the others."""
        try:
            return self._write(events)
        except SQLAlchemyError:
            log.warning("a batch of %d timeline events failed: writing each alone", len(events))
        self._ids.clear()  # a device deleted since it was remembered fails its row: ask again
        stored: list[tuple[int, Event]] = []
        for event in events:
            try:
                stored.extend(self._write([event]))
            except SQLAlchemyError:
                log.exception("a timeline event of %s could not be stored", event.mac)
        return stored

    def _notify(self, stored: list[tuple[int, Event]]) -> None:
        """Each observer runs in its own transaction: its failure never loses the events."""
        if not stored:
            return
        for observer in self._observers:
            try:
                observer(stored)
            except Exception:
                log.exception("an observer of the timeline failed on a batch")

    def _device_ids(self, session: Session, events: list[Event]) -> dict[str, int]:
        """MAC -> device id for the batch's devices: remembered ones cost no query."""
        ids = self._ids
        unknown = {event.mac for event in events if event.mac not in ids}
        if unknown:
            found = session.execute(select(Device.mac, Device.id).where(Device.mac.in_(unknown)))
            ids.update(dict(found.all()))  # (mac, id) rows
        return ids

    def _write(self, events: list[Event]) -> list[tuple[int, Event]]:
        stored: list[tuple[int, Event]] = []
        with self._db.session() as session:
            connection = session.connection()
            dialect = connection.dialect
            batch = self._inserts.get(dialect.name) or self._inserts.setdefault(
                dialect.name, _Insert.of(dialect)
            )
            ids = self._device_ids(session, events)
            stamp = batch.stamp
            rows = []
            firmware: dict[int, Event] = {}
            for event in map(self.bounded, events):
                device_id = ids.get(event.mac)
                if device_id is None:  # removed since the fetch
                    continue
                rows.append((device_id, stamp(event.at), event.kind, *event[_REST:]))
                stored.append((device_id, event))
                if event.firmware and event.kind == EventKind.FETCH:
                    firmware[device_id] = event
            if rows:
                connection.exec_driver_sql(batch.sql, rows)
            if firmware:
                _newest_firmware(session, firmware)
        return stored


def _newest_firmware(session: Session, reported: dict[int, Event]) -> None:
    """Each device's firmware as its newest fetch reported it.

    The stored versions are read first, in one query: a boot storm's phones report what is
    stored already, and an UPDATE per device would cost more than the whole batch's INSERT.
    A report equal to what is stored is one the UPDATE below would match no row for (it
    takes no lock on such rows either), so skipping it changes nothing.
    """
    stored = session.execute(
        select(Device.id, Device.firmware_version).where(Device.id.in_(reported))
    ).all()  # read whole before the updates run on the same connection
    for device_id, version in stored:
        event = reported[device_id]
        if version == event.firmware:
            continue
        # Each HTTP worker writes its own batches: a fetch another worker already
        # wrote may be newer than this one, and the newest report must win.
        newer = select(DeviceEvent.id).where(
            DeviceEvent.device_id == device_id,
            DeviceEvent.kind == EventKind.FETCH,
            DeviceEvent.firmware.is_not(None),
            DeviceEvent.at > event.at,
        )
        session.execute(
            update(Device)
            .where(
                Device.id == device_id,
                Device.firmware_version.is_distinct_from(event.firmware),
                ~newer.exists(),
            )
            .values(firmware_version=event.firmware)
        )
