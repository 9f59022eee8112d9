"""The timeline writer's batches on PostgreSQL: the same rows as the ORM writes, devices
remembered until the inventory says they changed, the newest firmware report winning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import delete, select

from provisioner.db.models import Device, DeviceEvent
from provisioner.db.session import Database
from provisioner.domain.inventory import devices
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.timeline import Event, EventKind, TimelineWriter
from provisioner.secretbox import SecretBox
from tests.support.server import TEST_KEY

pytestmark = pytest.mark.postgres

MACS = ("000b82170101", "000b82170102")


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS timeline_batches")
        connection.execute("CREATE DATABASE timeline_batches")
    db = Database(postgres_url.rsplit("/", 1)[0] + "/timeline_batches")
    db.upgrade()
    rows = [{"tenant": "acme", "extension": f"100{index}", "display_name": "A", "mac": mac,
             "model": "GXP1610", "port": "1"} for index, mac in enumerate(MACS)]  # fmt: skip
    try:
        with db.session() as session:
            assert import_sheet(session, SecretBox(TEST_KEY), sheet_rows(rows), actor="test").ok
        yield db
    finally:
        db.dispose()


def fetched(mac: str, at: dt.datetime, firmware: str | None = None) -> Event:
    return Event(mac=mac, kind=EventKind.FETCH, protocol="http", filename=f"cfg{mac}.xml",
                 source="192.0.2.1", status=200, firmware=firmware, at=at)  # fmt: skip


def test_batches_store_what_the_orm_stores(database: Database) -> None:
    at = dt.datetime(2026, 12, 6, 14, 5, 19, 123456, tzinfo=dt.UTC)
    writer = TimelineWriter(database)
    writer.record(fetched(MACS[0], at))
    writer.flush()
    with database.session() as session:
        device = devices.get_device(session, MACS[1])
        session.add(DeviceEvent(device=device, kind=EventKind.FETCH, protocol="http",
                                filename=f"cfg{MACS[1]}.xml", source="192.0.2.1", status=200,
                                at=at))  # fmt: skip
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT at::text, kind, protocol, source, status, actor FROM device_events "
            "WHERE kind = 'fetch' ORDER BY id"
        ).all()
    assert len(rows) == 2
    assert rows[0] == rows[1]
    assert rows[0][0] == "2026-12-06 14:05:19.123456+00"


def test_a_deleted_device_is_forgotten_and_the_newest_firmware_wins(database: Database) -> None:
    writer = TimelineWriter(database)
    now = dt.datetime.now(dt.UTC)
    writer.record(fetched(MACS[0], now, "1.0.9.1"))
    writer.record(fetched(MACS[1], now, "1.0.9.1"))
    writer.flush()
    writer.record(fetched(MACS[1], now - dt.timedelta(seconds=5), "1.0.5.0"))  # older
    writer.flush()
    with database.session() as session:
        firmware = dict(session.execute(select(Device.mac, Device.firmware_version)).all())
        assert firmware == dict.fromkeys(MACS, "1.0.9.1")
        device = devices.get_device(session, MACS[0])
        session.execute(delete(DeviceEvent).where(DeviceEvent.device_id == device.id))
        session.delete(device)
    writer.record(fetched(MACS[0], now, "1.0.11.3"))
    writer.record(fetched(MACS[1], now + dt.timedelta(seconds=1), "1.0.11.3"))
    assert writer.flush() == 2  # the deleted device's event is dropped, the other kept
    with database.session() as session:
        firmware = dict(session.execute(select(Device.mac, Device.firmware_version)).all())
        stored = session.scalars(select(DeviceEvent.firmware).where(DeviceEvent.kind == "fetch"))
        assert sorted(map(str, stored)) == ["1.0.11.3", "1.0.5.0", "1.0.9.1"]
    assert firmware == {MACS[1]: "1.0.11.3"}
