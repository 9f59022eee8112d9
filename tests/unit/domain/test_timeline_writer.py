"""The timeline writer's batches: what they store (as the ORM would, byte for byte), what they
remember between batches (MAC -> device id) and when they forget it, the per-row fallback, the
newest-firmware rule, and the bench stager's memory of devices that need no staging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.dialects import sqlite

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent, DeviceState, Tenant, TenantStatus, utcnow
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.timeline import Event, EventKind, TimelineWriter, _Insert

MAC, OTHER = "000b82c0ffee", "000b82c0ffef"
BENCH, FIELD = "127.0.0.1", "203.0.113.7"


@pytest.fixture
def bound(service: Service) -> Service:
    """Two GXP2170s bound to an active tenant (no lines: nothing else is needed here)."""
    with service.db.session() as session:
        tenant = tenants.create_tenant(session, "acme", TenantStatus.ACTIVE, [])
        for mac in (MAC, OTHER):
            device = devices.create_device(session, service.box, mac=mac, model="GXP2170")
            devices.act(session, service.box, device, Action.BIND, "test", tenant)
    return service


def fetched(mac: str = MAC, source: str = FIELD, **fields: object) -> Event:
    given = {
        "protocol": "http",
        "filename": f"cfg{mac}.xml",
        "status": 200,
        "at": utcnow(),
        **fields,
    }
    return Event(mac=mac, kind=EventKind.FETCH, source=source, **given)  # type: ignore[arg-type]


def stored(service: Service, mac: str | None = None) -> list[DeviceEvent]:
    with service.db.session() as session:
        query = select(DeviceEvent).where(DeviceEvent.kind == EventKind.FETCH)
        if mac is not None:
            query = query.join(Device).where(Device.mac == mac)
        return list(session.scalars(query.order_by(DeviceEvent.id)))


@contextmanager
def statements(service: Service) -> Iterator[list[str]]:
    """Every SQL statement run on the service's engine inside the block."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(service.db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(service.db.engine, "before_cursor_execute", note)


# --- what a batch stores ----------------------------------------------------------------------


def test_stored_times_are_the_bytes_the_orm_stores(bound: Service) -> None:
    """SQLite keeps times as text: a batch must store what the ORM would, or ordering and
    the readers' parsing would differ between the two kinds of rows."""
    times = [
        dt.datetime(2026, 12, 6, 14, 5, 19, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 6, 14, 5, 20, tzinfo=dt.UTC),  # no microseconds
        dt.datetime(2026, 12, 6, 14, 5, 21, 7, tzinfo=dt.UTC),
    ]
    writer = TimelineWriter(bound.db)
    for at in times:
        writer.record(fetched(at=at))
    assert writer.flush() == len(times)
    with bound.db.session() as session:
        device = devices.get_device(session, OTHER)
        for at in times:
            session.add(DeviceEvent(device=device, kind=EventKind.FETCH, at=at))
    with bound.db.engine.connect() as connection:
        texts = connection.exec_driver_sql(
            "SELECT d.mac, e.at FROM device_events e JOIN devices d ON d.id = e.device_id "
            "WHERE e.kind = 'fetch' ORDER BY e.id"
        ).all()
    by_batch = [text for mac, text in texts if mac == MAC]
    by_orm = [text for mac, text in texts if mac == OTHER]
    assert (
        by_batch
        == by_orm
        == [
            "2026-12-06 14:05:19.123456",
            "2026-12-06 14:05:20.000000",
            "2026-12-06 14:05:21.000007",
        ]
    )
    assert [event.at for event in stored(bound, MAC)] == [at.replace(tzinfo=None) for at in times]


def test_the_batch_insert_formats_times_as_sqlalchemy_does() -> None:
    dialect = sqlite.dialect()
    made = _Insert.of(dialect).stamp
    reference = DeviceEvent.__table__.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    assert reference is not None
    for at in (
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 28, 23, 59, 59),
        dt.datetime(2026, 2, 28, 9, 0, 0, 10, tzinfo=dt.timezone(dt.timedelta(hours=9))),
    ):
        assert made(at) == reference(at)


def test_every_field_is_stored_and_bounded(bound: Service) -> None:
    writer = TimelineWriter(bound.db)
    writer.record(fetched(user_agent="x" * 300, firmware="1.0.9.1", sha256="5" * 64, detail="a\0b"))
    writer.flush()
    [row] = stored(bound)
    assert (row.protocol, row.filename, row.source, row.status) == (
        "http", f"cfg{MAC}.xml", FIELD, 200,
    )  # fmt: skip
    assert (row.user_agent, row.firmware, row.sha256, row.detail) == (
        "x" * 255, "1.0.9.1", "5" * 64, "ab",
    )  # fmt: skip
    assert row.actor is None


def test_one_row_the_database_refuses_never_loses_the_others(bound: Service) -> None:
    writer = TimelineWriter(bound.db)
    for index in range(5):
        writer.record(fetched(filename=f"good-{index}"))
        if index == 2:
            writer.record(Event(mac=MAC, kind=None, at=utcnow()))  # type: ignore[arg-type]  # NOT NULL kind
    assert writer.flush() == 6
    assert [row.filename for row in stored(bound)] == [f"good-{index}" for index in range(5)]


# --- MAC -> device id, remembered ---------------------------------------------------------------


def test_known_devices_cost_no_query_after_their_first_batch(bound: Service) -> None:
    writer = TimelineWriter(bound.db)
    writer.record(fetched(MAC))
    writer.flush()
    with statements(bound) as seen:
        writer.record(fetched(MAC))
        writer.flush()
    assert [s for s in seen if "FROM devices" in s] == []
    with statements(bound) as seen:  # a device never seen is looked up
        writer.record(fetched(OTHER))
        writer.flush()
    assert len([s for s in seen if "FROM devices" in s]) == 1
    assert len(stored(bound)) == 3


def delete_device(service: Service, mac: str) -> None:
    with service.db.session() as session:
        device = devices.get_device(session, mac)
        session.execute(delete(DeviceEvent).where(DeviceEvent.device_id == device.id))
        session.delete(device)


def test_a_deleted_device_is_forgotten_and_its_events_dropped(bound: Service) -> None:
    written: list[Sequence[tuple[int, Event]]] = []
    writer = TimelineWriter(bound.db, observers=[written.append])
    writer.record(fetched(MAC))
    writer.record(fetched(OTHER))
    writer.flush()
    delete_device(bound, OTHER)  # the newest device: SQLite gives the next one its id
    with bound.db.session() as session:
        newcomer = devices.create_device(session, bound.box, mac="000b82c0fff1", model="GXP2170")
    with bound.db.session() as session:
        assert devices.get_device(session, "000b82c0fff1").id == written[0][1][0]
    writer.record(fetched(OTHER))
    writer.record(fetched(MAC))
    assert writer.flush() == 2
    assert [event.mac for _, event in written[-1]] == [MAC]
    assert len(stored(bound, MAC)) == 2
    assert stored(bound, newcomer.mac) == []  # never attributed to the id's new owner


def test_a_device_deleted_behind_the_inventorys_back_loses_no_other_event(
    bound: Service,
) -> None:
    """Rows deleted without the ORM move no revision: the remembered id fails its row (a
    foreign key), and the batch is written again without it."""
    writer = TimelineWriter(bound.db)
    writer.record(fetched(MAC))
    writer.flush()
    with bound.db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM device_events")
        connection.exec_driver_sql(f"DELETE FROM devices WHERE mac = '{MAC}'")  # noqa: S608
    writer.record(fetched(OTHER))
    writer.record(fetched(MAC))
    writer.record(fetched(OTHER))
    assert writer.flush() == 3
    assert [row.device_id for row in stored(bound)] == [stored(bound, OTHER)[0].device_id] * 2


# --- the newest firmware report wins ------------------------------------------------------------


def firmware(service: Service, mac: str = MAC) -> str | None:
    with service.db.session() as session:
        return session.scalar(select(Device.firmware_version).where(Device.mac == mac))


def test_the_newest_report_wins_and_a_report_of_what_is_stored_updates_nothing(
    bound: Service,
) -> None:
    writer = TimelineWriter(bound.db)
    now = dt.datetime.now(dt.UTC)
    writer.record(fetched(firmware="1.0.9.1", at=now))
    writer.flush()
    assert firmware(bound) == "1.0.9.1"
    writer.record(fetched(firmware="1.0.5.0", at=now - dt.timedelta(seconds=5)))  # older
    writer.flush()
    assert firmware(bound) == "1.0.9.1"
    with statements(bound) as seen:
        writer.record(fetched(firmware="1.0.9.1", at=now + dt.timedelta(seconds=1)))
        writer.flush()
    assert [s for s in seen if s.startswith("UPDATE")] == []
    writer.record(fetched(firmware="1.0.11.3", at=now + dt.timedelta(seconds=2)))
    writer.flush()
    assert firmware(bound) == "1.0.11.3"


# --- the bench stager ---------------------------------------------------------------------------


def device_state(service: Service, mac: str = MAC) -> DeviceState:
    with service.db.session() as session:
        return session.execute(select(Device.state).where(Device.mac == mac)).scalar_one()


def test_staged_devices_cost_the_stager_no_query_until_they_change(bound: Service) -> None:
    writer = bound.timeline  # serve's writer: the bench stager observes it
    writer.record(fetched(MAC, BENCH))
    writer.flush()
    assert device_state(bound) is DeviceState.STAGED
    writer.record(fetched(MAC, BENCH))  # its own staging changed it: looked at once more
    writer.flush()
    with statements(bound) as seen:
        for _ in range(3):
            writer.record(fetched(MAC, BENCH))
            writer.flush()
    assert [s for s in seen if "FROM devices" in s] == []
    # Unbound and bound again: it is a bound device again, and its next bench fetch stages it.
    with bound.db.session() as session:
        device = devices.get_device(session, MAC)
        devices.act(session, bound.box, device, Action.UNBIND, "test")
        tenant = session.scalars(select(Tenant).where(Tenant.name == "acme")).one()
        devices.act(session, bound.box, device, Action.BIND, "test", tenant)
    assert device_state(bound) is DeviceState.BOUND
    writer.record(fetched(MAC, BENCH))
    writer.flush()
    assert device_state(bound) is DeviceState.STAGED


def test_a_bound_device_not_ready_is_looked_at_every_time(bound: Service) -> None:
    """A registration from the bench is a candidate too; a bound device that is not ready
    (no config fetched on the bench yet) stays one until it is."""
    writer = bound.timeline
    registered = Event(mac=MAC, kind=EventKind.REGISTRATION, at=utcnow(), source=f"{BENCH}:5060")
    for _ in range(2):
        with statements(bound) as seen:
            writer.record(registered)
            writer.flush()
        assert [s for s in seen if "FROM devices" in s]
        assert device_state(bound) is DeviceState.BOUND
    writer.record(fetched(MAC, BENCH))
    writer.flush()
    assert device_state(bound) is DeviceState.STAGED
