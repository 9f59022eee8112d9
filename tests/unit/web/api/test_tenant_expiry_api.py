"""A tenant's own registration expiry (issue 19): set through the API, in its phones' files."""

from __future__ import annotations

import re

from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, Tenant
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from tests.support.api import Api

PANA, GS = "0080f0ee0001", "000b82ee0002"


def expiries(service: Service) -> tuple[str, str]:
    """REG_EXPIRE_TIME_1 (seconds) of the KX-HDV230 and P32 (minutes) of the GXP1610."""
    pana = re.search(rb'REG_EXPIRE_TIME_1="(\d+)"', service.provisioner.preview(PANA))
    gs = re.search(rb"<P32>(\d+)</P32>", service.provisioner.preview(GS))
    assert pana is not None
    assert gs is not None
    return pana.group(1).decode(), gs.group(1).decode()


def test_a_tenants_expiry_reaches_its_phones_files(api: Api, service: Service) -> None:
    rows = [
        {"tenant": "acme", "extension": "1001", "display_name": "A", "mac": PANA,
         "model": "KX-HDV230", "port": "1"},
        {"tenant": "acme", "extension": "1002", "display_name": "B", "mac": GS,
         "model": "GXP1610", "port": "1"},
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.name == "acme")).one()
    path = f"/tenants/{tenant_id}"
    assert api.ok("GET", path)["registration_expiry"] is None
    assert expiries(service) == ("600", "10")  # the service's

    assert api.ok("PATCH", path, json={"registration_expiry": 180})["registration_expiry"] == 180
    assert expiries(service) == ("180", "3")
    assert api.ok("PATCH", path, json={"status": "active"})["registration_expiry"] == 180  # kept

    for bad in (30, 86401, "600"):
        assert "registration_expiry" in api.refused(
            "PATCH", path, 422, json={"registration_expiry": bad}
        )
    api.refused("PATCH", path, 403, role="warehouse", json={"registration_expiry": 120})
    assert api.ok("GET", path, role="support")["registration_expiry"] == 180

    assert api.ok("PATCH", path, json={"registration_expiry": None})["registration_expiry"] is None
    assert expiries(service) == ("600", "10")


def test_a_tenant_change_touches_its_devices_for_the_resync(service: Service) -> None:
    """The API resyncs the devices a unit of work touched; a tenant's expiry is in their files."""
    rows = [{"tenant": "acme", "extension": "1001", "display_name": "A", "mac": PANA,
             "model": "KX-HDV230", "port": "1"}]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
    with service.db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == "acme")).one()
        tenant.registration_expiry = 240
        session.flush()
        device = session.scalars(select(Device.id).where(Device.mac == PANA)).one()
        assert session.info["touched_devices"] == {device}


def test_a_new_tenant_may_carry_one(api: Api) -> None:
    made = api.ok("POST", "/tenants", 201, json={"name": "nat-office", "registration_expiry": 120})
    assert made["registration_expiry"] == 120
    assert api.ok("POST", "/tenants", 201, json={"name": "plain"})["registration_expiry"] is None
