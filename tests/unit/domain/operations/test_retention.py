"""Retention with the clock a year on: old fetches go, each device's newest fetches, state
changes and security events stay; the metrics see the count and the oldest event."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from dataclasses import replace

from sqlalchemy import select

from provisioner.app.maintenance import MaintenanceThread
from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent
from provisioner.domain.background import BackgroundThread
from provisioner.domain.demo import demo_rows
from provisioner.domain.operations.retention import RetentionPolicy, purge, timeline_size
from provisioner.domain.timeline import Event, EventKind
from tests.support.fleet import seed

T0 = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
POLICY = RetentionPolicy(fetch_days=90, keep_last=10, batch=7, pause=0)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def kinds(service: Service, mac: str) -> Counter[str]:
    with service.db.session() as session:
        rows = session.execute(
            select(DeviceEvent.kind).join(Device).where(Device.mac == mac)
        ).scalars()
        return Counter(rows)


def fetch_days(service: Service, mac: str) -> list[int]:
    with service.db.session() as session:
        rows = session.execute(
            select(DeviceEvent.at)
            .join(Device)
            .where(Device.mac == mac, DeviceEvent.kind == EventKind.FETCH.value)
            .order_by(DeviceEvent.at)
        ).scalars()
        return [(at.replace(tzinfo=dt.UTC) - T0).days for at in rows]


def test_a_year_on_old_fetches_go_and_the_rest_stays(service: Service) -> None:
    seed(service)
    daily, seldom, once_busy = sorted({row["mac"] for row in demo_rows()})[:3]
    record = service.timeline.record
    for n in range(365):  # a daily resync for a year
        record(Event(daily, EventKind.FETCH, protocol="http", status=200, at=day(n)))
    record(Event(daily, EventKind.DOWNLOAD, protocol="http", status=200, at=day(3)))
    record(Event(daily, EventKind.REFUSED, protocol="http", status=401, at=day(1)))
    record(Event(daily, EventKind.STATE, detail="bound -> shipped", at=day(0)))
    for n in range(3):  # fewer fetches than keep_last: all stay, however old
        record(Event(seldom, EventKind.FETCH, protocol="tftp", status=200, at=day(n)))
    for n in range(20):  # busy in its first weeks, silent since: its newest 10 stay
        record(Event(once_busy, EventKind.FETCH, protocol="tftp", status=200, at=day(n)))
    service.timeline.flush()
    before = kinds(service, daily)
    size = timeline_size(service.db)
    assert size.oldest == day(0)

    deleted = purge(service.db, POLICY, now=day(365))  # the clock a year on

    assert fetch_days(service, daily) == list(range(275, 365))  # the last 90 days
    after = kinds(service, daily)
    assert after[EventKind.DOWNLOAD.value] == 0
    for kept in (EventKind.REFUSED, EventKind.STATE, EventKind.IMPORT):
        assert after[kept.value] == before[kept.value]
    assert before[EventKind.IMPORT.value] > 0  # the demo import's entries, kept
    assert fetch_days(service, seldom) == [0, 1, 2]
    assert fetch_days(service, once_busy) == list(range(10, 20))
    assert deleted == 275 + 1 + 10
    assert timeline_size(service.db).events == size.events - deleted
    assert purge(service.db, POLICY, now=day(365)) == 0  # nothing left to do


def test_retention_off_keeps_everything(service: Service) -> None:
    seed(service)
    mac = demo_rows()[0]["mac"]
    service.timeline.record(Event(mac, EventKind.FETCH, at=day(0)))
    service.timeline.flush()
    off = RetentionPolicy(fetch_days=0)
    assert purge(service.db, off, now=day(3650)) == 0


def test_a_stopped_purge_ends_between_transactions_and_the_next_pass_goes_on(
    service: Service,
) -> None:
    seed(service)
    mac = demo_rows()[0]["mac"]
    for n in range(100):
        service.timeline.record(Event(mac, EventKind.FETCH, status=200, at=day(n)))
    service.timeline.flush()
    stop = threading.Event()
    slow = RetentionPolicy(fetch_days=1, keep_last=1, batch=5, pause=0.01)
    calls = 0
    real_wait = stop.wait

    def stop_after_three(seconds: float) -> bool:  # the rest between two transactions
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()
        return real_wait(seconds)

    stop.wait = stop_after_three  # type: ignore[method-assign]
    assert purge(service.db, slow, now=day(365), stop=stop) == 15  # three batches of five
    assert purge(service.db, replace(slow, pause=0), now=day(365)) == 99 - 15  # the next pass
    assert fetch_days(service, mac) == [99]


def test_the_maintenance_thread_runs_at_a_lower_priority() -> None:
    seen: list[int] = []

    class Probe(BackgroundThread):
        nice = 19

        def _main(self) -> None:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    Probe("probe").start().stop()
    assert seen == [MaintenanceThread.nice] == [19]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0  # the caller's own
