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
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Delete, Table, delete, func, select
from sqlalchemy.orm import aliased

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
    batch: int = 500  # rows per delete transaction
    pause: float = 0.05  # seconds between two deletes (at least the last delete's duration)


@dataclass(frozen=True)
class TimelineSize:
    events: int
    oldest: dt.datetime | None


def purge(db: Database, policy: RetentionPolicy, now: dt.datetime) -> int:
    """Delete what the policy lets go; returns how many events were deleted."""
    if policy.fetch_days <= 0:
        return 0  # retention off
    cutoff = now - dt.timedelta(days=policy.fetch_days)
    deleted = 0
    after = 0
    while True:
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
        if not group:
            return deleted
        after = group[-1]
        while True:
            began = time.perf_counter()
            with db.session() as session:
                statement = _purge_statement(group, cutoff, policy)
                gone = session.connection().execute(statement).rowcount
            deleted += gone
            if policy.pause:  # at least as long as the delete took: half a core at most
                time.sleep(max(policy.pause, time.perf_counter() - began))
            if gone < policy.batch:
                break


def _purge_statement(
    devices: Sequence[int], cutoff: dt.datetime, policy: RetentionPolicy
) -> Delete:
    """At most ``batch`` purgeable events of these devices older than both the cutoff and
    their device's ``keep_last``-th newest fetch (a device with fewer fetches loses none)."""
    events: Table = DeviceEvent.__table__  # type: ignore[assignment]
    newer = aliased(DeviceEvent)
    nth_newest_fetch = (
        select(newer.at)
        .where(newer.device_id == events.c.device_id, newer.kind == EventKind.FETCH.value)
        .order_by(newer.at.desc())
        .limit(1)
        .offset(policy.keep_last - 1)
        .scalar_subquery()
    )
    conditions = [
        events.c.device_id.in_(devices),
        events.c.kind.in_(PURGED_KINDS),
        events.c.at < cutoff,
    ]
    if policy.keep_last > 0:
        conditions.append(events.c.at < nth_newest_fetch)
    doomed = select(events.c.id).where(*conditions).limit(policy.batch)
    return delete(events).where(events.c.id.in_(doomed))


def timeline_size(db: Database) -> TimelineSize:
    """How many events the timeline holds and when the oldest happened (for the metrics)."""
    with db.session() as session:
        events, oldest = session.execute(
            select(func.count(DeviceEvent.id), func.min(DeviceEvent.at))
        ).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite returns naive UTC
        oldest = oldest.replace(tzinfo=dt.UTC)
    return TimelineSize(events, oldest)
