"""Every operation in the API document, called with every non-admin role.

The document's security requirement is the truth: a role it lists is served, any other gets 403.
No response to a non-admin role carries a SIP password or a device credential present in the
database (all decrypted with the box and searched for in the raw response bytes).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, RepresentativeNumber, Tenant
from provisioner.domain.demo import DEMO_TENANT, demo_rows, seed_demo
from provisioner.domain.inventory.sheet import sheet_rows
from tests.support.api import API, Api, make_api

MUTATING = {"post", "put", "patch", "delete"}
ORDER_SHEET = (
    "tenant,extension,direct_number,display_name,mac,model,port,postal_code,prefecture,city,"
    f"address_lines,recipient,phone\n{DEMO_TENANT},3901,,受付,,GXP2170,1,100-0005,東京都,"
    "千代田区,丸の内1-1-1,山田 太郎,03-1234-5678\n"
)


def secrets_in(service: Service) -> set[str]:
    """Every SIP password and device credential in the database, in clear."""
    box = service.box
    found: set[str] = set()
    with service.db.session() as session:
        for account in session.scalars(select(Account)):
            found.add(box.decrypt(account.sip_password_encrypted))
        for device in session.scalars(select(Device)):
            for token in (
                device.admin_password_encrypted,
                device.http_password_encrypted,
                device.config_key_encrypted,
            ):
                if token:
                    found.add(box.decrypt(token))
    assert len(found) > 50
    return found


@pytest.fixture
def demo_api(service: Service) -> Api:
    with service.db.session() as session:
        seed_demo(session, service.box)
    return make_api(service)


def demo_ids(service: Service) -> dict[str, Any]:
    """Path parameters naming things of the demo inventory."""
    with service.db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == DEMO_TENANT)).one()
        account = session.scalars(select(Account).order_by(Account.id)).first()
        device = session.scalars(select(Device).order_by(Device.mac)).first()
        rep = session.scalars(select(RepresentativeNumber)).first()
        assert account is not None
        assert device is not None
        assert rep is not None
        return {
            "tenant_id": tenant.id,
            "account_id": account.id,
            "mac": device.mac.upper(),
            "port": 1,
            "number_id": rep.id,
            "name": "readonly",
            "did": "0399990009",
            "serial": "GW20260101-AAAAAAAA",
            "order_id": 1,  # made by POST /orders, which runs first (actions last)
            "setting": "time_format",
            "param": "P1347",
            "model": device.model,
            "position": 1,
            "change_id": 1,
        }


@pytest.fixture
def answering_device() -> Iterator[str]:
    """HOST:PORT of a UDP peer that answers any SIP request 200 OK (this file tests who may
    ask for a resync; what the NOTIFY says is tested against SIPp in test_resync_sip.py)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            keep = ("via:", "from:", "to:", "call-id:", "cseq:")
            lines = data.decode("utf-8", "replace").split("\r\n")
            headers = [line for line in lines if line.lower().startswith(keep)]
            reply = "\r\n".join(["SIP/2.0 200 OK", *headers, "Content-Length: 0", "", ""])
            sock.sendto(reply.encode(), peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    sock.close()


def plausible_bodies(
    ids: dict[str, Any], sip_device: str = "127.0.0.1:9"
) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid body for each operation that takes one."""
    return {
        ("post", "/tenants"): {"json": {"name": "role-test"}},
        ("patch", "/tenants/{tenant_id}"): {"json": {"allowed_networks": ["192.0.2.0/24"]}},
        ("post", "/tenants/{tenant_id}/representative-numbers"): {"json": {"number": "0399990001"}},
        ("post", "/tenants/{tenant_id}/accounts"): {
            "json": {"extension": "3001", "display_name": "x"}
        },
        ("patch", "/accounts/{account_id}"): {"json": {"display_name": "改名"}},
        ("post", "/devices"): {"json": {"mac": "000b82ee0001", "model": "GXP1610"}},
        ("patch", "/devices/{mac}"): {
            "json": {"caller_id": "direct", "ring_representative": False, "encrypt_config": True}
        },
        ("put", "/devices/{mac}/lines/{port}"): {"json": {"account_id": ids["account_id"]}},
        ("patch", "/devices/{mac}/lines/{port}"): {"json": {"ring_representative": False}},
        ("post", "/devices/{mac}/actions/bind"): {"json": {"tenant_id": ids["tenant_id"]}},
        ("post", "/imports"): {"data": sheet_rows(demo_rows()), "content_type": "text/csv"},
        ("post", "/tokens"): {"json": {"name": "made-by-role", "role": "readonly"}},
        ("post", "/devices/{mac}/actions/resync"): {"json": {"to": sip_device}},
        ("post", "/devices/{mac}/actions/re-enrol"): {"json": {"reason": "reset on site"}},
        ("post", "/poe/switches"): {
            "json": {"name": "role-sw", "host": "192.0.2.9", "vendor": "hp", "community": "c"}
        },
        ("post", "/poe/switches/{name}/ports/{port}/actions/power-cycle"): {"json": {}},
        ("post", "/devices/{mac}/actions/power-cycle"): {"json": {"off_seconds": 3}},
        ("post", "/dhcp/leases"): {
            "json": {"action": "add", "mac": ids["mac"], "ip": "10.204.1.150"}
        },
        ("patch", "/gateways/{mac}"): {"json": {"refusal": "busy"}},
        ("put", "/gateways/{mac}/numbers/{did}"): {"json": {"destination": "1001"}},
        ("post", "/gateways/{mac}/licences"): {"json": {"channels": 4, "days": 30}},
        ("post", "/orders"): {"data": ORDER_SHEET, "content_type": "text/csv"},
        ("post", "/orders/{order_id}/actions/ship"): {
            "json": {"carrier": "yamato", "tracking_number": "123456789013"}
        },
        ("post", "/orders/{order_id}/actions/deliver"): {"json": {}},
        ("put", "/devices/{mac}/settings/{setting}"): {"json": {"value": "24h"}},
        ("put", "/tenants/{tenant_id}/settings/{setting}"): {"json": {"value": "24h"}},
        ("put", "/models/{model}/settings/{setting}"): {"json": {"value": "24h"}},
        ("put", "/devices/{mac}/raw/{param}"): {"json": {"value": "*8"}},
        ("put", "/devices/{mac}/keys"): {"json": {"keys": [{"position": 1, "type": "none"}]}},
        ("put", "/devices/{mac}/keys/{position}"): {"json": {"type": "none"}},
        ("put", "/tenants/{tenant_id}/phonebook"): {
            "data": "name,reading,group,office,mobile,home\n阿部,あべ,,0312345678,,\n".encode(),
            "content_type": "text/csv",
        },
        ("put", "/tenants/{tenant_id}/feature-codes"): {
            "json": {"park_code": "*70", "pickup_code": "*8"}
        },
        ("put", "/tenants/{tenant_id}/raw/{model}/{param}"): {"json": {"value": "*8"}},
        ("post", "/orders/{order_id}/actions/cancel"): {"json": {"detail": "role test"}},
    }


def operations(api: Api) -> list[tuple[str, str, list[str], bool]]:
    """(method, path, roles allowed, takes a body) for every operation in the document."""
    spec = api.client.get(f"{API}/openapi.json").get_json()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            (requirement,) = operation["security"]
            roles = requirement["BearerAuth"]
            found.append((method, path.removeprefix(API), roles, "requestBody" in operation))
    assert len(found) > 25
    return sorted(found, key=lambda op: "/actions/" in op[1])  # state changes last


@pytest.mark.parametrize("role", ["warehouse", "support", "readonly"])
def test_roles_get_what_the_document_says_and_never_a_secret(
    demo_api: Api, role: str, answering_device: str
) -> None:
    ids = demo_ids(demo_api.service)
    bodies = plausible_bodies(ids, answering_device)
    before = secrets_in(demo_api.service)
    served = 0
    responses: list[tuple[str, bytes]] = []
    for method, path, roles, takes_body in operations(demo_api):
        body = bodies.get((method, path), {})
        assert body or not takes_body, f"add a plausible body for {method} {path}"
        concrete = path.format(**ids)
        response = demo_api.call(method.upper(), concrete, role=role, **body)
        label = f"{role} {method.upper()} {concrete} -> {response.status_code}"
        if role in roles:
            assert response.status_code != 403, label
            served += response.status_code < 300
        else:
            assert response.status_code == 403, label
            assert role in response.get_json()["error"]
        assert response.status_code < 500, label
        responses.append((label, response.get_data()))
    assert served >= 8
    every_secret = before | secrets_in(demo_api.service)  # actions may have rotated some
    for label, body in responses:
        leaked = [secret for secret in every_secret if secret.encode() in body]
        assert not leaked, f"{label} shows a secret"


def test_the_role_rules_the_issue_names(demo_api: Api) -> None:
    mac = demo_ids(demo_api.service)["mac"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert demo_api.call(method, "/tenants/1", role="readonly").status_code in (403, 405)
    assert demo_api.call("POST", "/devices", role="readonly", json={}).status_code == 403
    assert demo_api.call("DELETE", "/tokens/admin", role="readonly").status_code == 403
    assert demo_api.call("POST", "/tokens", role="warehouse", json={}).status_code == 403
    assert demo_api.call("GET", "/accounts/1/secret", role="warehouse").status_code == 403
    assert demo_api.call("GET", f"/devices/{mac}/credentials", role="warehouse").status_code == 403
    bind = demo_api.call("POST", f"/devices/{mac}/actions/bind", role="support", json={})
    assert bind.status_code == 403
    assert demo_api.call("GET", f"/devices/{mac}/timeline", role="support").status_code == 200


def test_admin_reads_secrets_through_their_own_operations(demo_api: Api) -> None:
    ids = demo_ids(demo_api.service)
    secrets = secrets_in(demo_api.service)
    sip = demo_api.ok("GET", f"/accounts/{ids['account_id']}/secret")
    assert sip["sip_password"] in secrets
    device = demo_api.ok("GET", f"/devices/{ids['mac']}/credentials")
    assert {device["admin_password"], device["http_password"], device["config_key"]} <= secrets
    listed = demo_api.call("GET", "/devices?limit=500").get_data()
    assert not [secret for secret in secrets if secret.encode() in listed]
