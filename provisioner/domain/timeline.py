"""Writes fetch events to device timelines in batches, off the request path.

After a power cut thousands of phones fetch at once; one INSERT and COMMIT per fetch would
make the database the bottleneck. Events are queued and written by one thread every few
hundred milliseconds; ``flush()`` drains the queue (tests, shutdown). Observers see each written
batch after its commit (the bench stages devices, firmware follows downloads: off the fetch path).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import String, Table, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from provisioner.db.models import Device, DeviceEvent, utcnow
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


@dataclass(frozen=True)
class Event:
    mac: str
    kind: EventKind  # FETCH, REFUSED, DOWNLOAD: what fetches write in batches
    protocol: str | None = None
    filename: str | None = None
    source: str | None = None
    user_agent: str | None = None
    firmware: str | None = None
    status: int | None = None
    sha256: str | None = None
    detail: str | None = None
    at: dt.datetime = field(default_factory=utcnow)


Observer = Callable[[Sequence[tuple[int, Event]]], None]  # (device id, event) written


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

    def record(self, event: Event) -> None:
        self._queue.put(event)

    @staticmethod
    def bounded(event: Event) -> Event:
        """The event as it can be stored: every text field cut to its column's width, NUL
        characters (which PostgreSQL refuses in text) removed. Unchanged in the usual case."""
        changes: dict[str, Any] = {}
        for name, width in _WIDTHS.items():
            value = getattr(event, name, None)
            if isinstance(value, str) and (len(value) > width or "\0" in value):
                changes[name] = value.replace("\0", "")[:width]
        if isinstance(event.detail, str) and "\0" in event.detail:
            changes["detail"] = event.detail.replace("\0", "")
        return dataclasses.replace(event, **changes) if changes else event

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

    def _write_each_if_needed(self, events: list[Event]) -> list[tuple[int, Event]]:
        """The batch in one transaction; should the database refuse it, each event in its
        own, so one row it cannot take never loses the others."""
        try:
            return self._write(events)
        except SQLAlchemyError:
            log.warning("a batch of %d timeline events failed: writing each alone", len(events))
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

    def _write(self, events: list[Event]) -> list[tuple[int, Event]]:
        stored: list[tuple[int, Event]] = []
        with self._db.session() as session:
            macs = {event.mac for event in events}
            found = session.execute(select(Device.mac, Device.id).where(Device.mac.in_(macs)))
            ids = dict(found.all())  # (mac, id) rows
            rows = []
            firmware: dict[int, Event] = {}
            for event in map(self.bounded, events):
                device_id = ids.get(event.mac)
                if device_id is None:  # removed since the fetch
                    continue
                row = {**vars(event), "device_id": device_id}  # shallow: no deep copy
                del row["mac"]
                rows.append(row)
                stored.append((device_id, event))
                if event.firmware and event.kind == EventKind.FETCH:
                    firmware[device_id] = event
            if rows:  # Core insert: the ORM's bulk path costs more than the rows
                session.execute(insert(_EVENTS), rows)
            for device_id, event in firmware.items():
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
        return stored
