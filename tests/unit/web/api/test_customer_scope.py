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
    missing: set[tuple[str, str]] = set()  # (method, path) answered 404
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
            missing.add((method, path))
        else:
            assert response.status_code == 200, label
            assert DEMO_TENANT not in body, label
            assert not [mac for mac in their_macs if mac in body.lower()], label
    assert len(missing) >= 30
    assert {("patch", "/devices/{mac}/lines/{port}"), ("put", "/devices/{mac}/keys/{position}"),
            ("put", "/devices/{mac}/settings/{setting}"), ("get", "/devices/{mac}/settings"),
            ("put", "/tenants/{tenant_id}/phonebook"), ("get", "/tenants/{tenant_id}/phonebook"),
            ("put", "/tenants/{tenant_id}/settings/{setting}")} <= missing  # fmt: skip


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


def test_a_customer_sets_its_phones_keys_ringing_settings_and_phonebook(
    two_tenants: tuple[Api, int],
) -> None:
    api, ours_id = two_tenants
    # One line's ringing, its account staying.
    line = api.ok("PATCH", f"/devices/{OUR_MAC}/lines/1", role="customer",
                  json={"ring_representative": False})["lines"][0]  # fmt: skip
    assert (line["extension"], line["ring_representative"]) == ("2001", False)
    api.refused("PATCH", f"/devices/{OUR_MAC}/lines/2", 404, role="customer",
                json={"ring_representative": False})  # fmt: skip
    # Keys, one and all.
    keys = api.ok("PUT", f"/devices/{OUR_MAC}/keys/2", role="customer",
                  json={"type": "speed_dial", "value": "0312345678", "label": "本社"})  # fmt: skip
    assert {
        "position": 2,
        "type": "speed_dial",
        "value": "0312345678",
        "label": "本社",
    }.items() <= (next(k for k in keys["keys"] if k["position"] == 2).items())
    # Settings: the user-facing ones, never the service's, never raw parameters.
    api.ok("PUT", "/models/GXP2170/settings/time_format", json={"value": "12h"})  # staff, all
    api.ok(
        "PUT", f"/devices/{OUR_MAC}/raw/audio.volume.ring", json={"value": "5"}
    )  # staff, an expert's
    shown = api.ok("GET", f"/devices/{OUR_MAC}/settings", role="customer")
    assert {"name": "time_format", "value": "12h", "source": "model"}.items() <= next(
        s for s in shown["settings"] if s["name"] == "time_format"
    ).items()  # the model's row reaches the customer's phone through the scope
    assert shown["raw"] == []
    for value in ("24h", "12h"):  # the second time the customer's own row is found, not doubled
        shown = api.ok("PUT", f"/devices/{OUR_MAC}/settings/time_format", role="customer",
                       json={"value": value})  # fmt: skip
    assert {"name": "time_format", "value": "12h", "source": "device"}.items() <= next(
        s for s in shown["settings"] if s["name"] == "time_format"
    ).items()
    refused = api.refused("PUT", f"/devices/{OUR_MAC}/settings/ntp_server", 403,
                          role="customer", json={"value": "ntp.example.jp"})  # fmt: skip
    assert "ntp_server" in refused
    api.refused(
        "PUT",
        f"/devices/{OUR_MAC}/raw/audio.volume.ring",
        403,
        role="customer",
        json={"value": "7"},
    )
    api.ok("PUT", f"/tenants/{ours_id}/settings/call_waiting", role="customer",
           json={"value": "off"})  # fmt: skip
    # The phonebook: a bad row names its line and changes nothing; a good sheet replaces it.
    header = "name,reading,group,office,mobile,home\n"
    bad = api.call("PUT", f"/tenants/{ours_id}/phonebook", role="customer",
                   data=(header + "阿部,あべ,,0312345678,,\n伊藤,いとう,,電話,,\n").encode(),
                   content_type="text/csv")  # fmt: skip
    assert bad.status_code == 422
    assert bad.get_json()["rows"] == ["line 3: office '電話' is not a phone number "
                                      "(digits, * # and a leading +)"]  # fmt: skip
    assert api.ok("GET", f"/tenants/{ours_id}/phonebook", role="customer") == [
        {"name": "山田", "reading": "", "group": "内線", "numbers": [{"kind": "extension",
                                                                   "number": "2001"}]}
    ]  # fmt: skip
    sheet = (header + "阿部,あべ,,0312345678,,\n").encode()
    good = api.ok("PUT", f"/tenants/{ours_id}/phonebook", role="customer", data=sheet,
                  content_type="text/csv")  # fmt: skip
    assert good == {"tenant": OURS, "entries": 1}
    # Each change is in the customer's history, its tenant's (a device's own setting too).
    history = api.ok("GET", "/audit?limit=100", role="customer")["items"]
    changed = {(r["object_type"], r["action"], r["result"]) for r in history}
    assert {("device_lines", "update", "ok"), ("device_keys", "create", "ok"),
            ("setting_values", "create", "ok"), ("setting_values", "update", "ok"),
            ("phonebook_entries", "replace", "ok")} <= changed  # fmt: skip
    assert any(r["result"] == "failed" and "/phonebook" in r["object_label"] for r in history)
