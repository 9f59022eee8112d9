"""`device doctor` (issue 13): each cause built through the real delivery pipeline, timeline
writer and registration reader (a core read is a function), then diagnosed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent, Lockout, Tenant
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.render_cache import RenderCache
from provisioner.domain.inventory import lifecycle
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.registrations.doctor import WATCHER, Diagnosis, diagnose
from provisioner.domain.registrations.sync import Contact, read_core
from provisioner.domain.timeline import EventKind
from provisioner.settings import Settings
from tests.support.server import TEST_KEY

MAC = "000b82aa2170"
CORE = "http://127.0.0.1:5080/RPC"
FIELD = "203.0.113.7"
ROWS = [{"tenant": "acme", "extension": "2001", "direct_number": "", "display_name": "Taro",
         "mac": MAC, "model": "GXP2170", "port": "1"}]  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'inventory.db'}", secret_key=TEST_KEY,
                    pbx_readers=(CORE,))  # fmt: skip


@pytest.fixture
def phone(service: Service) -> str:
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(ROWS), actor="test").ok
        session.scalars(select(Tenant)).one().allowed_networks = [f"{FIELD}/32"]
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        return device.lines[0].account.sip_username


def _fetch(service: Service, source: str) -> Outcome:
    fetch = Fetch(path=f"cfg{MAC}.xml", protocol="http", source=source)
    outcome = service.provisioner.deliver(fetch).outcome
    service.timeline.flush()
    return outcome


def _core(service: Service, contacts: list[Contact]) -> None:
    with service.db.session() as session:
        read_core(session, CORE, lambda: contacts)


def _ship(service: Service) -> None:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        for action in (lifecycle.Action.STAGE, lifecycle.Action.SHIP):
            if device.state != "staged" or action is lifecycle.Action.SHIP:
                lifecycle.apply(session, service.box, device, action, actor="test")
    # The delivery's caches look at the inventory revision once a second: start them afresh.
    service.provisioner.cache = RenderCache(service.db.render_changes)
    service.provisioner.devices = RenderCache(service.db.render_changes)


def _doctor(service: Service) -> Diagnosis:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        return diagnose(session, device, (CORE,))


def test_never_fetched(service: Service, phone: str) -> None:
    _core(service, [])
    found = _doctor(service)
    assert found.cause == "never_fetched"
    assert "一度も取得していません" in found.ja
    assert "option 66" in found.en


def test_fetched_but_not_registered(service: Service, phone: str) -> None:
    assert _fetch(service, "127.0.0.1") is Outcome.SERVED  # the bench
    _core(service, [])
    found = _doctor(service)
    assert found.cause == "fetched_not_registered"
    assert "from 127.0.0.1 but line 1 never registered" in found.en
    assert "UDP 5060" in found.ja


def test_registered_then_lost(service: Service, phone: str) -> None:
    assert _fetch(service, "127.0.0.1") is Outcome.SERVED
    _core(service, [Contact(phone, f"sip:{phone}@127.0.0.1:5062", "127.0.0.1:5062", "GS", 600)])
    assert _doctor(service).cause == "ok"
    _core(service, [])
    found = _doctor(service)
    assert found.cause == "registered_then_lost"
    assert "line 1 was registered and lost" in found.en


def test_locked_out(service: Service, phone: str) -> None:
    _fetch(service, "127.0.0.1")
    _ship(service)
    assert _fetch(service, FIELD) is Outcome.SERVED  # first contact: installed, from FIELD
    with service.db.session() as session:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
        session.add(Lockout(source=FIELD, until=until))  # as the lockout board writes it
    found = _doctor(service)
    assert found.cause == "locked_out"
    assert "ロックアウト" in found.ja


def test_firmware_loop_held(service: Service, phone: str) -> None:
    _fetch(service, "127.0.0.1")
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        session.add(DeviceEvent(device_id=device.id, kind=EventKind.ALERT, actor=WATCHER,
                                detail="downloaded 1.0.11.3 5 times"))  # fmt: skip
    found = _doctor(service)
    assert found.cause == "firmware_loop_held"
    assert "downloaded 1.0.11.3 5 times" in found.en
