"""Rollouts, holds and pins in the inventory, and what the delivery renders from them.

In-process: the real database and delivery pipeline, caches checking the revision on every
read, so each assertion sees the change before it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from firmware.catalog import Catalog
from provisioner.app.service import Service
from provisioner.db.firmware import FirmwareDevice
from provisioner.db.models import DeviceEvent, utcnow
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.errors import Invalid, NotFound
from provisioner.domain.firmware import rollouts as firmware
from provisioner.domain.firmware.director import FirmwareDirector
from provisioner.domain.firmware.progress import firmware_progress
from provisioner.domain.firmware.watcher import FirmwareWatcher
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.staging.bench_view import firmware_facts
from provisioner.domain.timeline import Event
from tests.support.caches import follow_every_change

MACS = ("0080f0aa0001", "0080f0aa0002")
VERSIONS = ("01.100", "01.133")


@pytest.fixture
def fleet(service: Service, tmp_path: Path) -> Catalog:
    rows = [
        {"tenant": "acme", "extension": f"{1001 + n}", "direct_number": "",
         "display_name": f"P{n}", "mac": mac, "model": "KX-HDV230", "port": "1"}
        for n, mac in enumerate(MACS)
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows)).ok
    with service.db.session() as session:
        for mac in MACS:  # the images fit revisions 1 and 2 only: unknown hardware is blocked
            get_device(session, mac).hardware_revision = "1"
    provisioner = service.provisioner
    follow_every_change(provisioner)
    provisioner.firmware = FirmwareDirector(service.db, None, check_interval=0)
    catalog = Catalog(tmp_path / "store")
    floor = None
    for version in VERSIONS:
        (tmp_path / "image.bin").write_bytes(version.encode() * 1000)
        catalog.import_image(tmp_path / "image.bin", "panasonic", ["KX-HDV230"], version,
                             hardware_revisions=["1", "2"], min_version=floor)  # fmt: skip
        floor = version
    return catalog


def firm(service: Service, mac: str, version: str | None) -> dict[str, str]:
    """The FIRM_* lines of the device's file, fetched with a User-Agent reporting ``version``."""
    agent = f"Panasonic_KX-HDV230/{version} ({mac})" if version else None
    fetch = Fetch(f"Config{mac.upper()}.cfg", "http", "127.0.0.1", user_agent=agent)
    delivery = service.provisioner.deliver(fetch)
    assert delivery.outcome is Outcome.SERVED
    lines = delivery.body.decode().split("\r\n")
    pairs = (line.split("=", 1) for line in lines if line.startswith("FIRM_"))
    return {name: value.strip('"') for name, value in pairs}


def test_the_file_names_only_the_next_step_and_follows_the_reported_version(
    service: Service, fleet: Catalog
) -> None:
    assert firm(service, MACS[0], "01.000") == {"FIRM_UPGRADE_ENABLE": "N"}
    spec = firmware.RolloutSpec("hdv", "KX-HDV230", VERSIONS[1], via=(VERSIONS[0],),
                                canary_percent=100)  # fmt: skip
    with service.db.session() as session:
        firmware.create_rollout(session, fleet, spec)
    first = firm(service, MACS[0], "01.000")
    with service.db.session() as session:  # the staging bench sees the same target
        device = get_device(session, MACS[0])
        assert firmware_facts(session, [device])[device.id].firmware_target == VERSIONS[1]
    assert first["FIRM_UPGRADE_ENABLE"] == "Y"
    assert first["FIRM_VERSION"] == "01.100"
    assert first["FIRM_FILE_PATH"].endswith("/firmware/panasonic-01.100-" +
                                             first["FIRM_FILE_PATH"].rsplit("-", 1)[1])  # fmt: skip
    assert firm(service, MACS[0], "01.100")["FIRM_VERSION"] == "01.133"
    assert firm(service, MACS[0], "01.133") == {"FIRM_UPGRADE_ENABLE": "N"}
    assert firm(service, MACS[0], None) == {"FIRM_UPGRADE_ENABLE": "N"}  # version unknown


def test_hold_pin_and_pause_change_the_file_at_once(service: Service, fleet: Catalog) -> None:
    spec = firmware.RolloutSpec("hdv", "KX-HDV230", VERSIONS[1], via=(VERSIONS[0],),
                                canary_percent=100)  # fmt: skip
    with service.db.session() as session:
        firmware.create_rollout(session, fleet, spec)
    with service.db.session() as session:
        firmware.hold(session, MACS[0])
    assert firm(service, MACS[0], "01.000") == {"FIRM_UPGRADE_ENABLE": "N"}
    assert firm(service, MACS[1], "01.000")["FIRM_VERSION"] == "01.100"
    with service.db.session() as session:
        firmware.unhold(session, MACS[0])
        firmware.pin(session, fleet, MACS[0], "01.100")
    assert firm(service, MACS[0], "01.100") == {"FIRM_UPGRADE_ENABLE": "N"}  # at its pin
    with service.db.session() as session:
        firmware.pause_rollout(session, "hdv")
    assert firm(service, MACS[1], "01.000") == {"FIRM_UPGRADE_ENABLE": "N"}
    with service.db.session() as session:
        firmware.resume_rollout(session, "hdv")
        progress = firmware_progress(session, get_device(session, MACS[1]))
    assert firm(service, MACS[1], "01.000")["FIRM_VERSION"] == "01.100"
    assert (progress.target, progress.at_target) == ("01.133", False)


def test_refusals_name_what_to_fix(service: Service, fleet: Catalog) -> None:
    with service.db.session() as session:
        with pytest.raises(Invalid, match="does not fit hardware revision 3"):
            firmware.create_rollout(session, fleet, firmware.RolloutSpec(
                "hw", "KX-HDV230", VERSIONS[0], hardware_revisions=("3",)))  # fmt: skip
        with pytest.raises(Invalid, match="unknown model"):
            firmware.create_rollout(session, fleet, firmware.RolloutSpec("m", "XX-1", "1.0"))
        with pytest.raises(Invalid, match="rollout name"):
            firmware.create_rollout(session, fleet, firmware.RolloutSpec(
                "bad name!", "KX-HDV230", VERSIONS[0]))  # fmt: skip
        with pytest.raises(NotFound, match="no rollout"):
            firmware.pause_rollout(session, "nothing")
        with pytest.raises(NotFound):
            firmware.hold(session, "0080f0ffffff")
        with pytest.raises(Invalid, match="no panasonic image"):
            firmware.pin(session, fleet, MACS[0], "02.000")


def three_downloads_hold(service: Service, mac: str) -> None:
    """Three whole downloads of one image at one version: held, with an alert."""
    row = {"tenant": "loop-co", "extension": "1001", "direct_number": "", "display_name": "L",
           "mac": mac, "model": "KX-HDV230", "port": "1"}  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows([row])).ok
        device_id = get_device(session, mac).id
    watcher = FirmwareWatcher(service.db)  # as the timeline writer calls it
    download = Event(
        mac=mac, kind="download", at=utcnow(), filename="panasonic-01.100-x.bin", firmware="01.000"
    )
    watcher([(device_id, download), (device_id, download)])
    with service.db.session() as session:
        assert firmware_progress(session, get_device(session, mac)).status != "held"
    watcher([(device_id, download)])
    with service.db.session() as session:
        device = get_device(session, mac)
        state = session.get(FirmwareDevice, device.id)
        assert state is not None
        assert state.held
        assert "downloaded panasonic-01.100-x.bin 3 times" in str(state.hold_reason)
        alerts = session.scalars(
            select(DeviceEvent).where(DeviceEvent.device_id == device.id,
                                      DeviceEvent.kind == "alert")
        ).all()  # fmt: skip
        assert len(alerts) == 1


def test_loop_detection_holds_on_sqlite(service: Service) -> None:
    three_downloads_hold(service, "0080f0bb0001")
