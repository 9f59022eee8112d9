"""Registrations (issue 13): folding core reads into lines, their states, and the alert."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent, DeviceState
from provisioner.domain.delivery.networks import parse_networks
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.registrations import alerts
from provisioner.domain.registrations.status import device_lines
from provisioner.domain.registrations.sync import (
    Contact,
    CoreUnreadable,
    apply,
    core_row,
    read_core,
)
from provisioner.domain.staging.auto_stage import refresh_bench
from provisioner.domain.timeline import EventKind
from provisioner.pbx.usrloc import parse_dump

GXP = "000b82aa2170"
CORE = "http://127.0.0.1:5080/RPC"
ROWS = [
    {"tenant": "acme", "extension": "2001", "direct_number": "", "display_name": "Taro",
     "mac": GXP, "model": "GXP2170", "port": "1"},
    {"tenant": "acme", "extension": "2002", "direct_number": "", "display_name": "Hanako",
     "mac": GXP, "model": "GXP2170", "port": "2"},
]  # fmt: skip


@pytest.fixture
def users(service: Service) -> dict[int, str]:
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(ROWS), actor="test").ok
        device = session.scalars(select(Device).where(Device.mac == GXP)).one()
        return {line.port: line.account.sip_username for line in device.lines}


def _contact(user: str, expires: int = 600) -> Contact:
    return Contact(user, f"sip:{user}@192.0.2.7:5060", "192.0.2.7:5060", "GXP2170", expires)


def _read(service: Service, contacts: list[Contact] | None) -> list[str]:
    def reader() -> list[Contact]:
        if contacts is None:
            raise CoreUnreadable("connection refused")
        return contacts

    with service.db.session() as session:
        return [event.detail or "" for event in read_core(session, CORE, reader)]


def _states(service: Service, cores: tuple[str, ...] = (CORE,)) -> dict[int, str]:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == GXP)).one()
        return {line.port: line.state for line in device_lines(session, device, cores)}


def test_two_lines_register_then_one_unregisters_and_one_expires(
    service: Service, users: dict[int, str]
) -> None:
    assert _states(service) == {1: "unknown", 2: "unknown"}  # never read
    events = _read(service, [_contact(users[1]), _contact(users[2])])
    assert sorted(e.split(" on ")[0] for e in events) == [
        "registered line 1 (2001)", "registered line 2 (2002)"]  # fmt: skip
    assert _states(service) == {1: "registered", 2: "registered"}
    assert _read(service, [_contact(users[1]), _contact(users[2])]) == []  # nothing changed
    assert [e.split(" on ")[0] for e in _read(service, [_contact(users[2], 1)])] == [
        "unregistered line 1 (2001)"
    ]
    assert [e.split(" on ")[0] for e in _read(service, [])] == ["expired line 2 (2002)"]
    assert _states(service) == {1: "unregistered", 2: "unregistered"}


def test_an_unreadable_core_makes_lines_unknown_never_unregistered(
    service: Service, users: dict[int, str]
) -> None:
    _read(service, [_contact(users[1])])
    assert _read(service, None) == []
    assert _states(service) == {1: "unknown", 2: "unknown"}
    _read(service, [_contact(users[1])])
    assert _states(service)[1] == "registered"
    # A second core configured but never read: line 2 is not known to be unregistered.
    assert _states(service, (CORE, "http://192.0.2.9:5080/RPC")) == {1: "registered", 2: "unknown"}


def test_line_unregistered_alert_once_for_an_installed_device(
    service: Service, users: dict[int, str]
) -> None:
    _read(service, [_contact(users[1])])
    _read(service, [])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=700)
    with service.db.session() as session:
        assert alerts.raise_alerts(session, (CORE,), dt.timedelta(seconds=600), later) == []
        session.scalars(select(Device).where(Device.mac == GXP)).one().state = DeviceState.INSTALLED
        core_row(session, CORE).read_at = later
    with service.db.session() as session:
        raised = alerts.raise_alerts(session, (CORE,), dt.timedelta(seconds=600), later)
        assert [e.detail.split(" since")[0] for e in raised if e.detail] == [
            "line_unregistered line 1 (2001)"
        ]
        assert alerts.tally(session)[("acme", "line_unregistered")] == 1
    with service.db.session() as session:
        assert alerts.raise_alerts(session, (CORE,), dt.timedelta(seconds=600), later) == []
        apply(session, core_row(session, CORE), [_contact(users[1])], later)
        assert alerts.tally(session).get(("acme", "line_unregistered")) is None


def test_parse_dump_reads_contacts_and_refuses_other_documents() -> None:
    dump = {"result": {"Domains": [{"Domain": {"Domain": "location", "AoRs": [{"Info": {
        "AoR": "u1", "Contacts": [
            {"Contact": {"Address": "sip:u1@10.0.0.5:5062", "Expires": 590,
                         "User-Agent": "Grandstream HT802", "Received": "[not set]"}},
            {"Contact": {"Address": "sip:u1@10.0.0.6:5060", "Expires": "expired",
                         "User-Agent": "x", "Received": "sip:203.0.113.7:40000"}},
        ]}}]}}]}}  # fmt: skip
    assert parse_dump(dump) == [
        Contact("u1", "sip:u1@10.0.0.5:5062", "10.0.0.5:5062", "Grandstream HT802", 590)
    ]
    empty = {"result": {"Domains": [{"Domain": {"Domain": "location", "AoRs": []}}]}}
    assert parse_dump(empty) == []
    for bad in ({"error": {"code": -32601}}, {"result": {"Domains": [{"x": 1}]}}, []):
        with pytest.raises(CoreUnreadable):
            parse_dump(bad)


def _bench(service: Service) -> tuple[DeviceState, bool | None]:
    with service.db.session() as session:
        rows = refresh_bench(session, service.box, parse_networks(("127.0.0.0/8",)))
        row = next(row for row in rows if row.mac == GXP)
        return row.state, row.registered


def _fetched_on_bench(service: Service) -> None:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == GXP)).one()
        fetch = DeviceEvent(device_id=device.id, kind=EventKind.FETCH, protocol="http",
                            filename=f"cfg{GXP}.xml", source="127.0.0.1", status=200)  # fmt: skip
        session.add(fetch)


def _on_bench(user: str) -> Contact:
    return Contact(user, f"sip:{user}@127.0.0.1:5062", "127.0.0.1:5062", "GXP2170", 600)


def test_bench_stages_only_once_every_line_registered_from_the_bench_after_the_fetch(
    service: Service, users: dict[int, str]
) -> None:
    _read(service, [_on_bench(users[1]), _on_bench(users[2])])  # before the fetch: not counted
    _fetched_on_bench(service)
    assert _bench(service) == (DeviceState.BOUND, False)
    _read(service, [])
    _read(service, [_on_bench(users[1]), _contact(users[2])])  # line 2 from elsewhere
    assert _bench(service) == (DeviceState.BOUND, False)
    _read(service, [_on_bench(users[1])])
    _read(service, [_on_bench(users[1]), _on_bench(users[2])])
    assert _bench(service) == (DeviceState.STAGED, True)


def test_bench_does_not_wait_for_a_core_it_cannot_read(
    service: Service, users: dict[int, str]
) -> None:
    _read(service, None)
    _fetched_on_bench(service)
    assert _bench(service) == (DeviceState.STAGED, None)
