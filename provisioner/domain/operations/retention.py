"""Timeline retention: old fetch events go, what a person may need years later stays.

Every fetch of every device is a timeline row; kept forever, 50,000 devices resyncing daily
add 18 million rows a year. Fetches and firmware downloads older than the retention period
are deleted, except each device's newest ``keep_last`` fetches (what support looks at first);
state changes, imports, refusals (security), NOTIFYs, PoE, alerts and licences stay forever.

The purge walks the devices in groups and deletes at most ``batch`` rows per transaction, each
on a session of its own, with a pause between: a fetch never waits behind a long delete, and
the timeline writer's batches interleave with the purge's.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Delete, Table, delete, func, select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent
from provisioner.db.session import Database
from provisioner.domain.timeline import EventKind

# What a purge may delete: the routine traffic of devices, nothing a person did or should see.
PURGED_KINDS = (EventKind.FETCH.value, EventKind.DOWNLOAD.value)
DEVICES_PER_GROUP = 200


@dataclass(frozen=True)
class RetentionPolicy:
    fetch_days: int = 90  # fetches and downloads older than this go ...
    keep_last: int = 10  # ... but never a device's newest ``keep_last`` fetches
    batch: int = 100  # rows per delete transaction
    pause: float = 0.05  # seconds between two deletes, at least ...
    rest: float = 4.0  # ... this many times the last delete's duration


@dataclass(frozen=True)
class TimelineSize:
    events: int
    oldest: dt.datetime | None


def purge(
    db: Database, policy: RetentionPolicy, now: dt.datetime, stop: threading.Event | None = None
) -> int:
    """Delete what the policy lets go; returns how many events were deleted.

    ``stop`` ends the purge between two transactions (a stopping ``serve`` does not wait for a
    backlog of millions); the next pass goes on where it left off, since it deletes by age.
    """
    if policy.fetch_days <= 0:
        return 0  # retention off
    stop = stop or threading.Event()
    cutoff = now - dt.timedelta(days=policy.fetch_days)
    deleted = 0
    after = 0
    while not stop.is_set():
        with db.session() as session:
            group = (
                session.execute(
                    select(Device.id)
                    .where(Device.id > after)
                    .order_by(Device.id)
                    .limit(DEVICES_PER_GROUP)
                )
                .scalars()
                .all()
            )
            pending = _thresholds(session, group, cutoff, policy.keep_last)
        if not group:
            return deleted
        after = group[-1]
        while pending and not stop.is_set():
            began = time.perf_counter()
            budget = policy.batch
            with db.session() as session:  # one transaction: at most ``batch`` rows
                while pending and budget:
                    device, before = pending[0]
                    gone = session.connection().execute(_purge_statement(device, before, budget))
                    if gone.rowcount < budget:
                        pending.pop(0)  # this device is done
                    budget -= gone.rowcount
            deleted += policy.batch - budget
            if policy.pause and budget < policy.batch:
                # A delete that took long ran on a busy machine: rest longer, in proportion.
                stop.wait(max(policy.pause, policy.rest * (time.perf_counter() - began)))
    return deleted


def _thresholds(
    session: Session, devices: Sequence[int], cutoff: dt.datetime, keep_last: int
) -> list[tuple[int, dt.datetime]]:
    """Per device, the time before which its purgeable events go: the cutoff, or its
    ``keep_last``-th newest fetch if that is older. A device with fewer fetches loses none."""
    if keep_last <= 0:
        return [(device, cutoff) for device in devices]
    found = []
    for device in devices:  # one indexed look-up each, on (device_id, at)
        nth_newest = session.execute(
            select(DeviceEvent.at)
            .where(DeviceEvent.device_id == device, DeviceEvent.kind == EventKind.FETCH.value)
            .order_by(DeviceEvent.at.desc())
            .limit(1)
            .offset(keep_last - 1)
        ).scalar()
        if nth_newest is not None:
            found.append((device, min(cutoff, _utc(nth_newest))))
    return found


def _purge_statement(device: int, before: dt.datetime, limit: int) -> Delete:
    """At most ``limit`` purgeable events of one device older than ``before``."""
    events: Table = DeviceEvent.__table__  # type: ignore[assignment]
    doomed = (
        select(events.c.id)
        .where(
            events.c.device_id == device,
            events.c.at < before,
            events.c.kind.in_(PURGED_KINDS),
        )
        .limit(limit)
    )
    return delete(events).where(events.c.id.in_(doomed))


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def timeline_size(db: Database) -> TimelineSize:
    """How many events the timeline holds and when the oldest happened (for the metrics)."""
    with db.session() as session:
        events, oldest = session.execute(
            select(func.count(DeviceEvent.id), func.min(DeviceEvent.at))
        ).one()
    return TimelineSize(events, _utc(oldest) if oldest is not None else None)
