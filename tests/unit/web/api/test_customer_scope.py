"""The customer role: every operation in the API document, called with a customer token of
tenant A on the objects of tenant B (the demo tenant), answers 404 like a missing object, or 403
where no customer may do it; lists show only A's own; A changes what a customer may change.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, Tenant, TenantStatus
from provisioner.domain.demo import DEMO_TENANT, seed_demo
from provisioner.domain.inventory import accounts, devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from tests.support.api import Api, add_customer_token, make_api
from tests.unit.web.api.test_api_roles import demo_ids, operations, plausible_bodies, secrets_in

OURS = "顧客A"
OUR_MAC = "000b82cc0001"
# A customer sends only what a customer may change; anything else is 403 before any lookup.
CUSTOMER_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/tenants/{tenant_id}"): {"json": {"allowed_networks": ["198.51.100.0/24"]}},
    ("patch", "/accounts/{account_id}"): {"json": {"display_name": "受付"}},
    ("patch", "/devices/{mac}"): {"json": {"caller_id": "direct", "ring_representative": False}},
    ("post", "/devices/{mac}/actions/resync"): {"json": {}},
    ("post", "/devices/{mac}/actions/power-cycle"): {"json": {"off_seconds": 3}},
}


@pytest.fixture
def two_tenants(service: Service) -> tuple[Api, int]:
    """The demo tenant (B) and tenant A with one account on one bound phone; a token of A."""
    with service.db.session() as session:
        seed_demo(session, service.box)
        ours = tenants.create_tenant(
            session, name=OURS, status=TenantStatus.ACTIVE, allowed_networks=[]
        )
        account = accounts.create_account(
            session, service.box, ours, extension="2001", direct_number="", display_name="山田"
        )
        device = devices.create_device(session, service.box, mac=OUR_MAC, model="GXP2170")
        devices.act(session, service.box, device, Action.BIND, "test", ours)
        devices.set_line(session, device, 1, account, "")
        ours_id = ours.id
    api = make_api(service)
    add_customer_token(api, ours_id)
    return api, ours_id


def test_another_tenants_objects_are_missing_and_staff_operations_forbidden(
    two_tenants: tuple[Api, int],
) -> None:
    api, _ours = two_tenants
    theirs = demo_ids(api.service)
    with api.service.db.session() as session:
        their_macs = {mac for mac in session.scalars(select(Device.mac)) if mac != OUR_MAC}
    bodies = plausible_bodies(theirs) | CUSTOMER_BODIES
    before = secrets_in(api.service)
    checked = 0
    for method, path, roles, _takes_body in operations(api):
        concrete = path.format(**theirs)
        response = api.call(
            method.upper(), concrete, role="customer", **bodies.get((method, path), {})
        )
        label = f"customer {method.upper()} {concrete} -> {response.status_code}"
        body = response.get_data(as_text=True)
        assert not [s for s in before if s in body], f"{label} shows a secret"
        if "customer" not in roles:
            assert response.status_code == 403, label
        elif "{" in path:
            assert response.status_code == 404, label
            checked += 1
        else:
            assert response.status_code == 200, label
            assert DEMO_TENANT not in body, label
            assert not [mac for mac in their_macs if mac in body.lower()], label
    assert checked >= 10


def test_a_customer_changes_only_what_a_customer_may_change(two_tenants: tuple[Api, int]) -> None:
    api, ours_id = two_tenants
    listed = api.ok("GET", "/devices", role="customer")
    assert [d["mac"] for d in listed["items"]] == [OUR_MAC]
    assert listed["items"][0]["lines"][0]["sip_username"] == ""
    assert [t["name"] for t in api.ok("GET", "/tenants", role="customer")] == [OURS]
    changed = api.ok("PATCH", f"/devices/{OUR_MAC}", role="customer",
                     json={"ring_representative": False})  # fmt: skip
    assert changed["ring_representative"] is False
    refused = api.refused("PATCH", f"/devices/{OUR_MAC}", 403, role="customer",
                          json={"encrypt_config": True})  # fmt: skip
    assert "encrypt_config" in refused
    networks = api.ok("PATCH", f"/tenants/{ours_id}", role="customer",
                      json={"allowed_networks": ["203.0.113.8/29"]})  # fmt: skip
    assert networks["allowed_networks"] == ["203.0.113.8/29"]
    api.refused("PATCH", f"/tenants/{ours_id}", 403, role="customer", json={"status": "trial"})
    with api.service.db.session() as session:
        ours = session.get(Tenant, ours_id)
        assert ours is not None
        assert ours.status is TenantStatus.ACTIVE
