"""Gateways in the inventory: licences issued and refused, number maps, settings (CLI, API)."""

from __future__ import annotations

import json

import pytest

from provisioner.app.service import Service
from provisioner.db.gateways import IssuerKey
from provisioner.db.models import TenantStatus
from provisioner.domain.gateways import trunk
from provisioner.domain.gateways.config import config_document
from provisioner.domain.gateways.devices import get_gateway, get_profile
from provisioner.domain.inventory import accounts, representatives, tenants
from provisioner.domain.inventory.lookup import timeline
from tests.support.api import Api, make_api
from tests.support.gateway_inventory import add_gateway, tenant_named

OURS, THEIRS = "0011223344ab", "0011223344cd"


@pytest.fixture
def api(service: Service) -> Api:
    with service.db.session() as session:
        acme, rival = tenant_named(session, "acme"), tenant_named(session, "rival")
        for tenant, extension in ((acme, "2001"), (acme, "2002"), (rival, "3001")):
            accounts.create_account(session, service.box, tenant, extension=extension,
                                    direct_number="", display_name="User")  # fmt: skip
        representatives.add_representative(session, acme, "0312340000")
    return make_api(service)


def test_a_gateway_is_added_bound_and_set_through_the_api(api: Api) -> None:
    api.ok("POST", "/devices", 201, json={"mac": "00-11-22-33-44-AB", "model": "32Gateway"})
    tenant_id = api.ok("GET", "/tenants?name=acme")[0]["id"]
    api.ok("POST", f"/devices/{OURS}/actions/bind", json={"tenant_id": tenant_id}, role="warehouse")
    assert "no trunk yet" in api.refused(
        "PATCH", f"/gateways/{OURS}", 422, json={"refusal": "busy"}
    )
    settings = api.ok("PATCH", f"/gateways/{OURS}", json={
        "trunk": "192.0.2.10", "cores": ["127.0.0.1:5080", "[::1]:5081"], "refusal": "unavailable",
    })  # fmt: skip
    assert settings["trunk"] == {"host": "192.0.2.10", "port": 5060}
    assert settings["cores"] == [{"host": "127.0.0.1", "port": 5080}, {"host": "::1", "port": 5081}]
    assert api.refused(
        "PATCH", f"/gateways/{OURS}", 403, json={"refusal": "busy"}, role="warehouse"
    )
    api.ok("PUT", f"/gateways/{OURS}/numbers/03-1234-5678", json={"destination": "2001"},
           role="warehouse")  # fmt: skip
    api.ok("PUT", f"/gateways/{OURS}/numbers/0312345679", json={"destination": "0312340000"},
           role="warehouse")  # fmt: skip
    numbers = api.ok("GET", f"/gateways/{OURS}", role="readonly")["numbers"]
    assert numbers == [{"did": "0312345678", "destination": "2001"},
                       {"did": "0312345679", "destination": "0312340000"}]  # fmt: skip
    # The destination must exist in the gateway's tenant.
    assert "no extension 3001" in api.refused(
        "PUT", f"/gateways/{OURS}/numbers/0312345670", 409, json={"destination": "3001"}
    )
    assert "not a representative number" in api.refused(
        "PUT", f"/gateways/{OURS}/numbers/0312345670", 409, json={"destination": "0399999999"}
    )
    # A phone is not a gateway; an unknown MAC is not found.
    api.ok("POST", "/devices", 201, json={"mac": "000b82000001", "model": "GXP2170"})
    assert "not a gateway" in api.refused("GET", "/gateways/000b82000001", 409)
    api.refused("GET", "/gateways/0011223344ef", 404)


def test_a_did_belongs_to_one_gateway(api: Api) -> None:
    with api.service.db.session() as session:
        add_gateway(session, api.service.box, OURS, tenant_named(session, "acme"),
                    {"0312345678": "2001"})  # fmt: skip
        add_gateway(session, api.service.box, THEIRS, tenant_named(session, "rival"), {})
    message = api.refused("PUT", f"/gateways/{THEIRS}/numbers/0312345678", 409,
                          json={"destination": "3001"})  # fmt: skip
    assert f"on gateway {OURS} already" in message
    api.ok("DELETE", f"/gateways/{OURS}/numbers/0312345678", 204)
    api.ok("PUT", f"/gateways/{THEIRS}/numbers/0312345678", json={"destination": "3001"})
    assert api.ok("GET", f"/gateways/{OURS}")["numbers"] == []
    api.refused("DELETE", f"/gateways/{OURS}/numbers/0312345678", 404)
    api.refused("DELETE", f"/gateways/{OURS}/numbers/12", 422)


def test_licences_are_issued_by_admins_and_stored_signed(api: Api) -> None:
    with api.service.db.session() as session:
        add_gateway(session, api.service.box, OURS, tenant_named(session, "acme"), {})
    terms = {"channels": 16, "days": 365, "not_before": "2027-01-01T00:00:00"}
    issued = api.ok("POST", f"/gateways/{OURS}/licences", 201, json=terms)
    assert issued["channels"] == 16
    assert issued["not_before"].startswith("2027-01-01T00:00:00")
    assert issued["document"]["licence"]["expires"] == "2028-01-01T00:00:00Z"
    assert issued["document"]["licence"]["tenant"] == "acme"
    api.refused("POST", f"/gateways/{OURS}/licences", 403, json={"channels": 4, "days": 1},
                role="warehouse")  # fmt: skip
    api.refused("POST", f"/gateways/{OURS}/licences", 422, json={"channels": 5, "days": 1})
    api.refused("POST", f"/gateways/{OURS}/licences", 422, json={"channels": 4, "days": 0})
    listed = api.ok("GET", f"/gateways/{OURS}/licences", role="support")
    assert [row["channels"] for row in listed] == [4, 16]  # add_gateway issued the first
    assert api.ok("GET", f"/licences/{issued['serial']}")["serial"] == issued["serial"]
    assert [row["serial"] for row in api.ok("GET", "/licences", role="readonly")] == [
        row["serial"] for row in listed
    ]
    pem = api.ok("GET", "/licence-issuer", role="readonly")["public_key_pem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    # The private key is at rest only encrypted.
    with api.service.db.session() as session:
        stored = session.get(IssuerKey, 1)
        assert stored is not None
        assert "PRIVATE" not in stored.private_key_encrypted
        assert "PRIVATE KEY" in api.service.box.decrypt(stored.private_key_encrypted)


def test_an_unbound_gateway_gets_no_licence(service: Service) -> None:
    api = make_api(service)
    api.ok("POST", "/devices", 201, json={"mac": OURS, "model": "32Gateway"})
    assert "bind it to a tenant first" in api.refused(
        "POST", f"/gateways/{OURS}/licences", 409, json={"channels": 4, "days": 30}
    )


def test_trial_tenants_get_no_ported_numbers_and_suspended_ones_no_licence(api: Api) -> None:
    with api.service.db.session() as session:
        trial = tenants.create_tenant(session, "trial-co", TenantStatus.TRIAL, [])
        accounts.create_account(session, api.service.box, trial, extension="4001",
                                direct_number="", display_name="Trial")  # fmt: skip
        add_gateway(session, api.service.box, THEIRS, trial, {})
        add_gateway(session, api.service.box, OURS, tenant_named(session, "acme"), {})
        acme_id = tenant_named(session, "acme").id
    assert "on trial" in api.refused("PUT", f"/gateways/{THEIRS}/numbers/0312345678", 409,
                                     json={"destination": "4001"})  # fmt: skip
    api.ok("PATCH", f"/tenants/{acme_id}", json={"status": "suspended"})
    assert "suspended" in api.refused("POST", f"/gateways/{OURS}/licences", 409,
                                      json={"channels": 4, "days": 30})  # fmt: skip
    events = api.ok("GET", f"/devices/{OURS}/timeline", role="support")
    issued = [e for e in events if e["kind"] == "licence"]
    assert len(issued) == 1  # the one add_gateway issued, with who did it
    assert issued[0]["actor"] == "test"
    assert "4 channels" in issued[0]["detail"]


def test_a_trunk_account_is_stored_encrypted_and_never_shown(api: Api) -> None:
    with api.service.db.session() as session:
        add_gateway(session, api.service.box, OURS, tenant_named(session, "acme"),
                    {"0312345678": "2001"})  # fmt: skip
    assert "needs the carrier account" in api.refused(
        "PATCH", f"/gateways/{OURS}", 422, json={"trunk_register": True, "trunk_user": "0312345678"}
    )
    assert "trunk_password" in api.refused(
        "PATCH", f"/gateways/{OURS}", 422, json={"trunk_password": "has space"}
    )
    settings = api.ok("PATCH", f"/gateways/{OURS}", json={
        "trunk_register": True, "trunk_user": "0312345678", "trunk_password": "Tr5nk!pw",
        "trunk_registrar": "192.0.2.1", "trunk_expires": 600,
    })  # fmt: skip
    account = api.ok("GET", f"/gateways/{OURS}", role="readonly")["trunk_account"]
    assert account == settings["trunk_account"]
    assert account["register"] is True
    assert account["password_set"] is True
    assert account["registrar"] == {"host": "192.0.2.1", "port": 5060}
    assert account["auth_user"] == "0312345678"
    assert account["state"] is None
    assert "Tr5nk!pw" not in json.dumps(settings)
    with api.service.db.session() as session:
        device = get_gateway(session, OURS)
        profile = get_profile(session, device)
        assert profile is not None
        assert profile.trunk_password_encrypted is not None
        assert "Tr5nk!pw" not in profile.trunk_password_encrypted
        document = config_document(session, device, "127.0.0.1:5080", api.service.box)
    assert document["trunk"]["registration"] == {
        "registrar": {"host": "192.0.2.1", "port": 5060}, "user": "0312345678",
        "auth_user": "0312345678", "password": "Tr5nk!pw", "expires": 600,
        "outbound_proxy": None,
    }  # fmt: skip
    # switched off, the carrier trusts the trunk's address again; the account is kept
    api.ok("PATCH", f"/gateways/{OURS}", json={"trunk_register": False})
    with api.service.db.session() as session:
        device = get_gateway(session, OURS)
        document = config_document(session, device, "127.0.0.1:5080", api.service.box)
    assert document["trunk"]["registration"] is None


def test_what_the_gateway_reports_of_its_registration_lands_on_its_timeline(
    service: Service,
) -> None:
    with service.db.session() as session:
        add_gateway(session, service.box, OURS, tenant_named(session, "acme"), {})
    reports = ["registered", "registered", "not registered: wrong user or password\x07",
               "registered"]  # fmt: skip
    changed = []
    for report in reports:
        with service.db.session() as session:
            device = get_gateway(session, OURS)
            profile = get_profile(session, device)
            assert profile is not None
            changed.append(trunk.note_state(session, device, profile, report))
    assert changed == [True, False, True, True]
    with service.db.session() as session:
        events = [
            e for e in timeline(session, get_gateway(session, OURS)) if e.actor == trunk.WATCHER
        ]
        kinds = [(e.kind, e.detail) for e in reversed(events)]
    assert kinds == [
        ("registration", "trunk registered"),
        ("alert", "trunk not registered: wrong user or password"),  # control characters dropped
        ("registration", "trunk registered"),
    ]
