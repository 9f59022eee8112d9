"""The admin REST API: tenants, accounts, representative numbers, devices, lifecycle, imports.

Flask's test client for the API's own logic; one test goes through ``provisioner serve`` and the
``provisioner token`` command over real HTTP.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, DeviceEvent, Tenant
from provisioner.domain.inventory.devices import MAC_PATTERN
from provisioner.domain.inventory.macs import normalize_mac
from provisioner.domain.inventory.patterns import PHONE_NUMBER_PATTERN, phone_number
from provisioner.domain.inventory.sheet import sheet_rows
from tests.support.api import API, Api
from tests.support.sheets import row as sheet_row


def new_tenant(api: Api, name: str = "acme", **fields: Any) -> dict[str, Any]:
    return api.ok("POST", "/tenants", 201, json={"name": name, **fields})


def new_account(api: Api, tenant_id: int, extension: str, **fields: Any) -> dict[str, Any]:
    body = {"extension": extension, "display_name": f"内線 {extension}", **fields}
    return api.ok("POST", f"/tenants/{tenant_id}/accounts", 201, json=body)


def count(service: Service, model: type) -> int:
    with service.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    "text",
    ["0312345678", "03-1234-5678", " 050 1234 5678 ", "031234567", "0312345678901", "1312345678",
     "03_1234_5678", "", "-", "000b82aabbcc", "00:0B:82:AA:BB:CC", "00-0b-82-aa-bb-cc",
     "010b82aabbcc", "00:0b-82:aa:bb:cc", "000b82aabbc", "000b82aabbccdd"],
)  # fmt: skip
def test_published_patterns_agree_with_the_domain(text: str) -> None:
    """What the document's patterns allow is what the domain takes, so clients can pre-check."""
    try:
        number = phone_number(text, "n")
    except ValueError:
        number = None
    assert (re.fullmatch(PHONE_NUMBER_PATTERN, text) is not None) == (number is not None)
    try:
        mac: str | None = normalize_mac(text)
    except ValueError:
        mac = None
    assert (re.fullmatch(MAC_PATTERN, text) is not None) == (mac is not None)


def test_document_covers_the_api_and_not_the_device_files(api: Api) -> None:
    spec = api.client.get(f"{API}/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]
    assert all(path.startswith(f"{API}/") for path in spec["paths"])
    assert "BearerAuth" in spec["components"]["securitySchemes"]
    assert api.client.get("/healthz").data == b"ok\n"
    unknown = api.client.get("/some/where/cfg.xml")
    assert (unknown.status_code, unknown.mimetype) == (404, "text/plain")


def test_unknown_paths_and_methods_under_the_prefix_are_json(api: Api) -> None:
    assert "openapi.json" in api.refused("GET", "/nothing/here", 404)
    assert "Allow" in api.refused("DELETE", "/tenants", 405)
    assert api.call("DELETE", "/tenants").headers["Allow"]
    assert api.refused("GET", "/tenants/-1", 404)


def test_authentication_and_roles(api: Api) -> None:
    response = api.client.get(f"{API}/tenants")
    assert response.status_code == 401
    assert "Bearer" in response.get_json()["error"]
    wrong = api.client.get(f"{API}/tenants", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    message = api.refused("POST", "/tenants", 403, role="warehouse", json={"name": "x"})
    assert "warehouse role" in message
    api.ok("DELETE", "/tokens/readonly")
    assert api.call("GET", "/tenants", role="readonly").status_code == 401


def test_tenants(api: Api) -> None:
    tenant = new_tenant(api, allowed_networks=["192.0.2.0/24", "2001:db8::/32", "192.0.2.0/24"])
    assert tenant["status"] == "active"
    assert tenant["allowed_networks"] == ["192.0.2.0/24", "2001:db8::/32"]
    assert "host bits" in api.refused(
        "POST", "/tenants", 422, json={"name": "b", "allowed_networks": ["10.0.0.1/8"]}
    )
    assert "10.0.0.0/8" in api.refused(
        "PATCH", f"/tenants/{tenant['id']}", 422, json={"allowed_networks": ["10.0.0.1/8"]}
    )
    assert "CIDR" in api.refused(
        "POST", "/tenants", 422, json={"name": "b", "allowed_networks": ["office"]}
    )
    assert "exists already" in api.refused("POST", "/tenants", 409, json={"name": "acme"})
    assert "json.name" in api.refused("POST", "/tenants", 422, json={"name": " padded"})
    new_account(api, tenant["id"], "1001", direct_number="03-1234-5678")
    assert "1001" in api.refused("PATCH", f"/tenants/{tenant['id']}", 409, json={"status": "trial"})
    changed = api.ok("PATCH", f"/tenants/{tenant['id']}", json={"status": "suspended"})
    assert changed["status"] == "suspended"
    assert api.ok("GET", "/tenants?status=suspended")[0]["account_count"] == 1
    assert api.ok("GET", "/tenants?name=nobody") == []
    assert "no tenant with id 99" in api.refused("GET", "/tenants/99", 404)


def test_accounts(api: Api) -> None:
    tenant = new_tenant(api)
    account = new_account(api, tenant["id"], "1001", direct_number="03-1234-5678")
    assert account["direct_number"] == "0312345678"
    assert account["sip_username"].startswith("u")
    assert "sip_password" not in account
    secret = api.ok("GET", f"/accounts/{account['id']}/secret")
    with api.service.db.session() as session:
        stored = session.get(Account, account["id"])
        assert stored is not None
        assert secret["sip_password"] == api.service.box.decrypt(stored.sip_password_encrypted)
    assert "exists already" in api.refused(
        "POST", f"/tenants/{tenant['id']}/accounts", 409,
        json={"extension": "1001", "display_name": "x"},
    )  # fmt: skip
    assert "belongs to account" in api.refused(
        "POST", f"/tenants/{tenant['id']}/accounts", 409,
        json={"extension": "1002", "display_name": "x", "direct_number": "0312345678"},
    )  # fmt: skip
    assert "double quote" in api.refused(
        "POST", f"/tenants/{tenant['id']}/accounts", 422,
        json={"extension": "1002", "display_name": 'Taro "T"'},
    )  # fmt: skip
    assert "4 digits" in api.refused(
        "POST", f"/tenants/{tenant['id']}/accounts", 422,
        json={"extension": "12", "display_name": "x"},
    )  # fmt: skip
    trial = new_tenant(api, "trial-co", status="trial")
    assert "on trial" in api.refused(
        "POST", f"/tenants/{trial['id']}/accounts", 409,
        json={"extension": "1001", "display_name": "x", "direct_number": "0612345678"},
    )  # fmt: skip
    changed = api.ok(
        "PATCH", f"/accounts/{account['id']}", json={"direct_number": None, "display_name": "新"}
    )
    assert (changed["direct_number"], changed["display_name"]) == (None, "新")
    listed = api.ok("GET", f"/tenants/{tenant['id']}/accounts", role="readonly")
    assert [a["extension"] for a in listed] == ["1001"]
    api.ok("DELETE", f"/accounts/{account['id']}", 204)
    assert count(api.service, Account) == 0


def test_representative_number_limits(api: Api) -> None:
    tenant = new_tenant(api)
    path = f"/tenants/{tenant['id']}/representative-numbers"
    assert "has 0 ID(s)" in api.refused("POST", path, 409, json={"number": "0300000001"})
    first = new_account(api, tenant["id"], "1001")
    # only the basic ID: no representative number (the 03plus guide)
    assert "has 1 ID(s): a representative number needs at least 2" in api.refused(
        "POST", path, 409, json={"number": "0300000001"}
    )
    new_account(api, tenant["id"], "1002")
    rep = api.ok("POST", path, 201, json={"number": "03-0000-0001"})
    assert rep["number"] == "0300000001"
    assert "held by this tenant" in api.refused("POST", path, 409, json={"number": "0300000001"})
    api.ok("POST", path, 201, json={"number": "0300000002"})
    assert "more than its 2 account" in api.refused(
        "POST", path, 409, json={"number": "0300000003"}
    )
    for extension in ("1003", "1004"):
        new_account(api, tenant["id"], extension)
    api.ok("POST", path, 201, json={"number": "0300000003"})
    assert "more than 3" in api.refused("POST", path, 409, json={"number": "0300000004"})
    other = new_tenant(api, "other")
    new_account(api, other["id"], "1001")
    assert "another tenant" in api.refused(
        "POST", f"/tenants/{other['id']}/representative-numbers", 409, json={"number": "0300000001"}
    )
    assert len(api.ok("GET", path)) == 3
    # three numbers need three accounts: the fourth account may go, the third may not
    accounts = api.ok("GET", f"/tenants/{tenant['id']}/accounts")
    api.ok("DELETE", f"/accounts/{accounts[-1]['id']}", 204)
    assert "remove a representative number" in api.refused(
        "DELETE", f"/accounts/{first['id']}", 409
    )
    api.ok("DELETE", f"/representative-numbers/{rep['id']}", 204)
    api.ok("DELETE", f"/accounts/{first['id']}", 204)


def test_devices_lines_caller_id_and_ringing(api: Api) -> None:
    tenant = new_tenant(api)
    account = new_account(api, tenant["id"], "1001", direct_number="0312345678")
    created = api.ok("POST", "/devices", 201, json={"mac": "00:0B:82:AA:00:01", "model": "GXP2170"})
    assert (created["mac"], created["state"], created["kind"]) == (
        "000b82aa0001",
        "in_stock",
        "phone",
    )
    for form in ("000B82AA0001", "00-0b-82-aa-00-01", "00:0b:82:aa:00:01"):
        assert api.ok("GET", f"/devices/{form}", role="support")["mac"] == "000b82aa0001"
    assert "12 hex digits" in api.refused("GET", "/devices/zz", 404)
    assert "no device" in api.refused("GET", "/devices/000b82aa0099", 404)
    assert "already" in api.refused(
        "POST", "/devices", 409, json={"mac": "000b82aa0001", "model": "GXP1610"}
    )
    line = {"account_id": account["id"]}
    assert "bind it" in api.refused("PUT", "/devices/000b82aa0001/lines/1", 409, json=line)
    api.ok("POST", "/devices/000b82aa0001/actions/bind", json={"tenant_id": tenant["id"]})
    assert "beyond the 6 lines of the GXP2170" in api.refused(
        "PUT", "/devices/000b82aa0001/lines/7", 422, json=line
    )
    assert "fax is for ATA ports" in api.refused(
        "PUT", "/devices/000b82aa0001/lines/1", 422, json=line | {"fax_mode": "t38"}
    )
    device = api.ok("PUT", "/devices/000b82aa0001/lines/1", json=line, role="warehouse")
    assert [(ln["port"], ln["extension"]) for ln in device["lines"]] == [(1, "1001")]
    assert device["caller_id"] == {"source": "direct", "number": "0312345678"}

    api.ok("POST", "/devices", 201, json={"mac": "000b82aa0002", "model": "HT802"})
    api.ok("POST", "/devices/000b82aa0002/actions/bind", json={"tenant_id": tenant["id"]})
    ata = api.ok("PUT", "/devices/000b82aa0002/lines/2", json=line | {"fax_mode": "t38"})
    assert ata["lines"][0]["fax_mode"] == "t38"
    assert ata["lines"][0]["ring_representative"] is False  # a FAX port does not, unless set
    ata = api.ok("PUT", "/devices/000b82aa0002/lines/2",
                 json=line | {"fax_mode": "t38", "ring_representative": True})  # fmt: skip
    assert ata["lines"][0]["ring_representative"] is True
    assert device["lines"][0]["ring_representative"] is True
    assert "beyond the 2 FXS ports" in api.refused("DELETE", "/devices/000b82aa0002/lines/3", 422)
    assert "no account on port 1" in api.refused("DELETE", "/devices/000b82aa0002/lines/1", 404)
    assert api.ok("DELETE", "/devices/000b82aa0002/lines/2")["lines"] == []

    other = new_tenant(api, "other")
    stranger = new_account(api, other["id"], "1001")
    assert "belongs to tenant other" in api.refused(
        "PUT", "/devices/000b82aa0001/lines/2", 409, json={"account_id": stranger["id"]}
    )

    new_account(api, tenant["id"], "1002")  # a representative number needs two IDs
    api.ok(
        "POST",
        f"/tenants/{tenant['id']}/representative-numbers",
        201,
        json={"number": "0312340000"},
    )
    assert "not a representative number" in api.refused(
        "PATCH", "/devices/000b82aa0001", 409, json={"caller_id": "0399990000"}
    )
    changed = api.ok(
        "PATCH",
        "/devices/000b82aa0001",
        json={"caller_id": "03-1234-0000", "ring_representative": False},
    )
    assert changed["caller_id"] == {"source": "representative", "number": "0312340000"}
    assert changed["ring_representative"] is False
    back = api.ok("PATCH", "/devices/000b82aa0001", json={"caller_id": "direct"})
    assert back["caller_id"]["source"] == "direct"
    assert back["encrypt_config"] is False
    sealed = api.ok("PATCH", "/devices/000b82aa0001", json={"encrypt_config": True})
    assert sealed["encrypt_config"] is True
    assert "true or false" not in api.refused(
        "PATCH", "/devices/000b82aa0001", 422, json={"ring_representative": "yes"}
    )

    listed = api.ok("GET", f"/devices?tenant_id={tenant['id']}&state=bound", role="readonly")
    assert (listed["total"], [d["mac"] for d in listed["items"]]) == (
        2,
        ["000b82aa0001", "000b82aa0002"],
    )
    assert api.ok("GET", "/devices?model=HT802&limit=1")["total"] == 1
    assert api.ok("GET", "/devices?state=shipped")["items"] == []


def test_lifecycle_transitions_and_refusals(api: Api) -> None:
    tenant = new_tenant(api)
    mac = "0080f0000001"
    api.ok("POST", "/devices", 201, json={"mac": mac, "model": "KX-HDV230"}, role="warehouse")
    message = api.refused("POST", f"/devices/{mac}/actions/stage", 409)
    assert "cannot stage" in message
    assert "applies to: bound" in message
    assert "no tenant" in api.refused(
        "POST", f"/devices/{mac}/actions/bind", 404, json={"tenant_id": 999}
    )
    before = api.ok("GET", f"/devices/{mac}/credentials")
    assert before["http_password"] is None
    api.ok("POST", f"/devices/{mac}/actions/bind", role="warehouse",
           json={"tenant_id": tenant["id"]})  # fmt: skip
    # Never fetched on the bench: staging by hand would ship it without its credentials.
    assert "not fetched its own file on the bench" in api.refused(
        "POST", f"/devices/{mac}/actions/stage", 409, role="warehouse"
    )
    assert api.client.get(f"/Config{mac.upper()}.cfg").status_code == 200  # the bench fetch
    api.service.timeline.flush()  # the bench stager stages it
    assert "in state staged" in api.refused("POST", f"/devices/{mac}/actions/stage", 409)
    api.ok("POST", f"/devices/{mac}/actions/ship", role="warehouse")
    bound = api.ok("GET", f"/devices/{mac}/credentials")
    assert bound["http_user"] == f"d{mac}"
    assert bound["http_password"]
    assert "admin" in api.refused("POST", f"/devices/{mac}/actions/install", 403, role="warehouse")
    api.ok("POST", f"/devices/{mac}/actions/install")
    assert "cannot ship" in api.refused("POST", f"/devices/{mac}/actions/ship", 409)

    other = new_tenant(api, "other")
    assert "unbind it first" in api.refused(
        "POST", f"/devices/{mac}/actions/bind", 409, json={"tenant_id": other["id"]}
    )
    api.ok("POST", f"/devices/{mac}/actions/unbind", role="warehouse")
    assert api.ok("GET", f"/devices/{mac}/credentials")["http_password"] != bound["http_password"]
    api.ok("PATCH", f"/tenants/{other['id']}", json={"status": "cancelled"})
    assert "is cancelled" in api.refused(
        "POST", f"/devices/{mac}/actions/bind", 409, json={"tenant_id": other["id"]}
    )
    api.ok("POST", f"/devices/{mac}/actions/retire")
    assert "restock" in api.refused(
        "PATCH", f"/devices/{mac}", 409, json={"caller_id": "0312340000"}
    )
    assert (
        api.ok("POST", f"/devices/{mac}/actions/restock", role="warehouse")["state"] == "in_stock"
    )

    events = api.ok("GET", f"/devices/{mac}/timeline?limit=3", role="support")
    assert len(events) == 3
    assert events[0]["detail"].startswith("retired -> in_stock")
    assert events[0]["actor"] == "api warehouse"
    assert events[0]["at"].endswith("+00:00")
    history = api.ok("GET", f"/devices/{mac}/timeline", role="readonly")
    changes = [e for e in reversed(history) if e["kind"] == "state"]  # the bench fetch aside
    assert [e["detail"].split(";")[0] for e in changes] == [
        "in_stock -> bound", "bound -> staged", "staged -> shipped", "shipped -> installed",
        "installed -> in_stock", "in_stock -> retired", "retired -> in_stock",
    ]  # fmt: skip


def sheet(*rows: dict[str, str]) -> bytes:
    return sheet_rows([sheet_row(**row) for row in rows])


def test_import_all_or_nothing(api: Api) -> None:
    good = sheet({}, {"extension": "1002", "direct_number": "", "port": "2"})
    csv = {"data": good, "content_type": "text/csv"}
    dry = api.ok("POST", "/imports?dry_run=true", **csv)
    assert (dry["dry_run"], dry["written"], dry["devices_created"]) == (True, False, 1)
    assert count(api.service, Device) == 0

    bad = sheet({}, {"extension": "1002", "mac": "zz", "port": "2"}, {"model": "GXP9999"})
    response = api.call("POST", "/imports", data=bad, content_type="text/csv")
    assert response.status_code == 422
    body = response.get_json()
    assert "nothing was written" in body["error"]
    assert [(row["line"], row["reason"].split(" ")[0]) for row in body["rows"]] == [
        (3, "bad"),
        (4, "unknown"),
    ]
    assert (count(api.service, Tenant), count(api.service, Device)) == (0, 0)

    assert "lacks the column" in api.refused(
        "POST", "/imports", 422, data=b"tenant,mac\nacme,x\n", content_type="text/csv"
    )
    # The warehouse may not create tenants or accounts directly, so not through a sheet either.
    refused = api.call("POST", "/imports", role="warehouse", **csv)
    assert refused.status_code == 422
    assert {row["reason"] for row in refused.get_json()["rows"]} == {
        "tenant 'acme' does not exist: only an administrator creates one"
    }
    assert (count(api.service, Tenant), count(api.service, Device)) == (0, 0)
    done = api.ok("POST", "/imports", **csv)
    assert (done["written"], done["accounts_created"], done["devices_created"]) == (True, 2, 1)
    device = api.ok("GET", "/devices/000b82aa0001")
    assert (device["state"], [ln["port"] for ln in device["lines"]]) == ("bound", [1, 2])
    with api.service.db.session() as session:
        actors = session.scalars(select(DeviceEvent.actor)).all()
    assert set(actors) == {"import by api admin"}
    more = sheet({"extension": "1003", "direct_number": "", "port": "3"})
    assert "extension 1003 of acme does not exist" in api.call(
        "POST", "/imports", role="warehouse", data=more, content_type="text/csv"
    ).get_data(as_text=True)
    again = api.ok("POST", "/imports", role="warehouse", **csv)  # what exists: the warehouse's
    assert (again["written"], again["accounts_created"]) == (True, 0)


def test_writes_move_the_inventory_revision(api: Api) -> None:
    """Served files are cached per revision: an API change must invalidate them."""
    before = api.service.db.revision()
    tenant = new_tenant(api)
    assert api.service.db.revision() > before
    before = api.service.db.revision()
    api.ok("PATCH", f"/tenants/{tenant['id']}", json={"allowed_networks": ["192.0.2.0/24"]})
    assert api.service.db.revision() > before


def test_tokens_over_the_api(api: Api) -> None:
    made = api.ok("POST", "/tokens", 201, json={"name": "bench-3", "role": "warehouse"})
    assert made["role"] == "warehouse"
    assert len(made["token"]) >= 43
    assert "exists already" in api.refused(
        "POST", "/tokens", 409, json={"name": "bench-3", "role": "readonly"}
    )
    listed = api.ok("GET", "/tokens")
    assert set(listed[0]) == {"name", "role", "created_at", "revoked_at"}
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get(f"{API}/devices", headers=headers).status_code == 200
    assert api.ok("DELETE", "/tokens/bench-3")["revoked_at"]
    assert api.client.get(f"{API}/devices", headers=headers).status_code == 401


def test_a_body_nested_too_deeply_is_a_clear_400(api: Api) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    message = api.refused("POST", "/tenants", 400, data=deep, content_type="application/json")
    assert "JSON" in message
    assert api.ok("GET", "/tenants") is not None  # and the app keeps serving
