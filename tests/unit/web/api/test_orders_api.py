"""/api/v1/orders with every role: the warehouse (and admin) create, ship, deliver and cancel;
support and readonly read; a bad address row is refused whole, naming its line."""

from __future__ import annotations

import pytest

from provisioner.db.models import TenantStatus
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.staging import order_flow, orders
from tests.support.api import Api

HEADER = (
    "tenant,extension,direct_number,display_name,mac,model,port,"
    "postal_code,prefecture,city,address_lines,recipient,phone,delivery_date,delivery_band"
)
ROW = (
    "株式会社API,3001,,受付,,GXP2170,1,"
    "530-0001,大阪府,大阪市北区,梅田1-1,佐藤 花子,06-1234-5678,2026-12-15,14-16"
)
ROLES = ("admin", "warehouse", "support", "readonly")


def sheet(*rows: str) -> dict[str, object]:
    return {"data": HEADER + "\n" + "\n".join(rows) + "\n", "content_type": "text/csv"}


@pytest.fixture
def order_api(api: Api) -> Api:
    with api.service.db.session() as session:
        tenants.create_tenant(session, "株式会社API", TenantStatus.ACTIVE, [])
    return api


@pytest.mark.parametrize("role", ROLES)
def test_who_creates_and_who_reads(order_api: Api, role: str) -> None:
    response = order_api.call("POST", "/orders", role=role, **sheet(ROW))
    if role in ("admin", "warehouse"):
        assert response.status_code == 201, response.get_data(as_text=True)
        made = response.get_json()
        assert made["address"]["prefecture"] == "大阪府"
        assert made["delivery_band"] == "14-16"
        assert made["status"] == "received"
        assert made["due_basis"]
        assert made["history"][0]["actor"] == f"api {role}"
    else:
        assert response.status_code == 403
        assert role in response.get_json()["error"]
        with order_api.service.db.session() as session:
            made_by = orders.upload_order(
                session,
                order_api.service.box,
                sheet(ROW)["data"].encode(),
                "x",
                "t",  # type: ignore[union-attr]
            )
            assert made_by.order is not None
            made = {"id": made_by.order.id}
    shown = order_api.call("GET", f"/orders/{made['id']}", role=role)
    assert shown.status_code == 200
    assert shown.get_json()["tenant"] == "株式会社API"
    listed = order_api.call("GET", "/orders?status=received", role=role)
    assert [o["id"] for o in listed.get_json()["items"]] == [made["id"]]
    assert order_api.call("GET", "/orders/999", role=role).status_code == 404
    ship = order_api.call(
        "POST", f"/orders/{made['id']}/actions/ship", role=role,
        json={"carrier": "sagawa", "tracking_number": "123456789012"},
    )  # fmt: skip
    assert ship.status_code == (409 if role in ("admin", "warehouse") else 403)
    cancel = order_api.call("POST", f"/orders/{made['id']}/actions/cancel", role=role, json={})
    assert cancel.status_code == (200 if role in ("admin", "warehouse") else 403)


def test_a_bad_address_row_is_refused_whole_naming_its_line(order_api: Api) -> None:
    bad = ROW.replace("530-0001", "530-01")
    body = order_api.call("POST", "/orders", role="warehouse", **sheet(ROW, bad)).get_json()
    assert body["rows"] == [{"line": 3, "reason": "postal_code must be NNN-NNNN (seven digits)"}]
    assert order_api.ok("GET", "/orders")["items"] == []
    with_mac = ROW.replace(",,GXP2170", ",000b82000001,GXP2170")
    assert "mac column empty" in order_api.refused("POST", "/orders", 422, **sheet(with_mac))


def test_a_staged_order_ships_with_a_checked_tracking_number(order_api: Api) -> None:
    made = order_api.ok("POST", "/orders", 201, **sheet(ROW))
    service = order_api.service
    with service.db.session() as session:
        order = order_flow.get_order(session, made["id"])
        devices.create_device(session, service.box, mac="000b82000009", model="GXP2170")
        orders.fill_slot(session, service.box, order.slots[0].id, "000b82000009", "GXP2170", "t")
        device = devices.get_device(session, "000b82000009")
        devices.act(session, service.box, device, Action.STAGE, "t")
    assert order_api.ok("GET", f"/orders/{made['id']}")["status"] == "picking"
    with service.db.session() as session:
        order_flow.bench_day(session, service.provisioner.staging)  # the bench notices
        order_flow.mark_packed(session, order_flow.get_order(session, made["id"]), "staff t")
    path = f"/orders/{made['id']}/actions/ship"
    wrong = {"carrier": "yamato", "tracking_number": "123456789014"}
    assert "check digit" in order_api.refused("POST", path, 422, role="warehouse", json=wrong)
    right = {"carrier": "yamato", "tracking_number": "1234-5678-9013"}
    shipped = order_api.ok("POST", path, role="warehouse", json=right)
    assert (shipped["status"], shipped["tracking_number"]) == ("shipped", "123456789013")
    assert shipped["history"][-1] == {
        **shipped["history"][-1],
        "step": "shipped",
        "actor": "api warehouse",
    }
    support = order_api.call("GET", f"/orders/{made['id']}", role="support").get_json()
    assert support["tracking_number"] == "123456789013"
    delivered = order_api.ok("POST", f"/orders/{made['id']}/actions/deliver", json={})
    assert delivered["status"] == "delivered"
