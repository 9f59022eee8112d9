"""Orders (issue 18): the order sheet with its address, refused whole on a bad row; the flow
received -> picking -> staged -> shipped with its history and actors; tracking numbers per
carrier; lateness; the day's shipments as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from provisioner.app.service import Service
from provisioner.db.models import DeviceState, TenantStatus
from provisioner.db.staging import ClosedDay
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.staging import order_flow, orders
from provisioner.domain.staging.business_days import JST
from provisioner.domain.staging.order_flow import OrderStatus, Urgency
from provisioner.domain.staging.shipping import check_tracking, parse_address

HEADER = "tenant,extension,direct_number,display_name,mac,model,port,postal_code,prefecture,city,address_lines,recipient,phone,received_at"  # noqa: E501
ADDRESS = "100-0005,東京都,千代田区,丸の内1-1-1 ビル3F,山田 太郎,03-1234-5678"
RECEIVED = "2026-12-09T10:00"  # a Wednesday, before the cut-off: due Friday 11th 15:00 JST


def sheet(*rows: str) -> bytes:
    return (HEADER + "\n" + "".join(f"{row}\n" for row in rows)).encode()


def good_sheet() -> bytes:
    return sheet(
        f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},{RECEIVED}",
        "株式会社オーダー,3002,,総務,,GXP2170,1,,,,,,,",
    )


@pytest.fixture
def tenant(service: Service) -> Service:
    with service.db.session() as session:
        tenants.create_tenant(session, "株式会社オーダー", TenantStatus.ACTIVE, [])
    return service


def upload(service: Service, data: bytes) -> orders.OrderUpload:
    with service.db.session() as session:
        return orders.upload_order(session, service.box, data, "order.csv", "staff hanako")


def test_an_order_sheet_keeps_address_due_time_and_its_basis(tenant: Service) -> None:
    kept = upload(tenant, good_sheet())
    assert kept.errors == []
    with tenant.db.session() as session:
        order = order_flow.get_order(session, kept.order.id if kept.order else 0)
        assert (order.postal_code, order.prefecture, order.city) == (
            "100-0005",
            "東京都",
            "千代田区",
        )
        assert order.recipient == "山田 太郎"
        assert order.tenant == "株式会社オーダー"
        assert [slot.position for slot in order.slots] == [1, 2]  # port did not go up
        due = order.due_at.replace(tzinfo=dt.UTC).astimezone(JST)
        assert due == dt.datetime(2026, 12, 11, 15, 0, tzinfo=JST)
        assert "before the 15:00 cut-off" in (order.due_basis or "")
        assert [(e.step, e.actor) for e in order.history] == [("received", "staff hanako")]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("1000005,東京都", None),  # no hyphen: accepted, stored with one
        ("100-005,東京都", "postal_code"),
        ("100-0005,東京", "prefecture"),
        ("100-0005,トーキョー都", "prefecture"),
    ],
)
def test_a_bad_address_row_refuses_the_whole_sheet_naming_its_line(
    tenant: Service, bad: str, reason: str | None
) -> None:
    address = ADDRESS.replace("100-0005,東京都", bad)
    kept = upload(
        tenant,
        sheet(
            f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},{RECEIVED}",
            f"株式会社オーダー,3002,,総務,,GXP2170,1,{address},",
        ),
    )
    if reason is None:
        assert kept.errors == [] or "another" in kept.errors[0].reason  # same address or not
        return
    assert kept.order is None
    assert [e.line for e in kept.errors] == [3]
    assert reason in kept.errors[0].reason
    with tenant.db.session() as session:
        assert order_flow.list_orders(session) == []


def test_another_address_another_tenant_or_no_address_is_refused(tenant: Service) -> None:
    other = ADDRESS.replace("丸の内1-1-1", "丸の内2-2-2")
    kept = upload(tenant, sheet(f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},",
                                f"株式会社オーダー,3002,,総務,,GXP2170,1,{other},"))  # fmt: skip
    assert [(e.line, "one address" in e.reason) for e in kept.errors] == [(3, True)]
    kept = upload(tenant, sheet(f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},",
                                f"別会社,3002,,総務,,GXP2170,1,{ADDRESS},"))  # fmt: skip
    assert [(e.line, "one tenant" in e.reason) for e in kept.errors] == [(3, True)]
    kept = upload(tenant, sheet("株式会社オーダー,3001,,受付,,GXP2170,1,,,,,,,"))
    assert [e.reason for e in kept.errors] == ["no row gives the shipping address"]
    kept = upload(tenant, sheet(f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},yesterday"))
    assert "received_at" in kept.errors[0].reason


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"phone": "3-1234-5678"}, "phone"),
        ({"phone": "03-1234-567"}, "phone"),
        ({"city": ""}, "city"),
        ({"recipient": "a\x07b"}, "recipient"),
    ],
)
def test_address_fields_are_checked(values: dict[str, str], column: str) -> None:
    good = dict(zip(("postal_code", "prefecture", "city", "address_lines", "recipient",
                     "phone"), ADDRESS.split(","), strict=True))  # fmt: skip
    assert parse_address(good).phone == "03-1234-5678"
    assert parse_address({**good, "phone": "09012345678"}).phone == "09012345678"
    with pytest.raises(Invalid, match=column):
        parse_address({**good, **values})


@pytest.mark.parametrize(
    ("carrier", "number", "stored"),
    [
        ("yamato", "1234-5678-9013", "123456789013"),  # 12345678901 mod 7 = 3
        ("sagawa", "123456789012", "123456789012"),
        ("japanpost", "12345678901", "12345678901"),
        ("japanpost", "ej 473124829 jp", "EJ473124829JP"),  # the S10 standard's own example
        ("other", "ABC-123456", "ABC-123456"),
    ],
)
def test_tracking_numbers_that_pass(carrier: str, number: str, stored: str) -> None:
    assert check_tracking(carrier, number) == stored


@pytest.mark.parametrize(
    ("carrier", "number", "reason"),
    [
        ("yamato", "123456789014", "check digit"),
        ("yamato", "12345678901", "12 digits"),
        ("sagawa", "12345678901A", "12 digits"),
        ("japanpost", "EJ473124828JP", "check digit"),
        ("japanpost", "1234567890", "11 or 12"),
        ("other", "abc", "6 to 30"),
        ("pigeon", "123456789012", "carrier must be"),
    ],
)
def test_tracking_numbers_that_fail(carrier: str, number: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        check_tracking(carrier, number)


def _stage_both(service: Service, order_id: int) -> list[str]:
    """Fill both slots with new devices and stage them (as the bench's fetch would)."""
    macs = ["000b82a00001", "000b82a00002"]
    with service.db.session() as session:
        order = order_flow.get_order(session, order_id)
        for mac, slot in zip(macs, order.slots, strict=True):
            devices.create_device(session, service.box, mac=mac, model="GXP2170")
            _, report = orders.fill_slot(session, service.box, slot.id, mac, "GXP2170", "staff a")
            assert report.ok, report.errors
            assert order.status == OrderStatus.PICKING
        for mac in macs:
            devices.act(session, service.box, devices.get_device(session, mac), Action.STAGE, "t")
    return macs


def test_an_order_is_picked_staged_shipped_and_delivered_with_its_history(
    tenant: Service,
) -> None:
    kept = upload(tenant, good_sheet())
    order_id = kept.order.id if kept.order else 0
    now = dt.datetime(2026, 12, 10, 10, 0, tzinfo=JST)
    with tenant.db.session() as session:
        (view,) = order_flow.bench_day(session, tenant.provisioner.staging, now)
        assert view.urgency is Urgency.TOMORROW
        assert view.missing == ("scan", "packed")
        order = order_flow.get_order(session, order_id)
        with pytest.raises(Conflict, match="only a staged order"):
            order_flow.ship_order(session, tenant.box, order, "yamato", "123456789013", "s")
    macs = _stage_both(tenant, order_id)
    with tenant.db.session() as session:
        (view,) = order_flow.bench_day(session, tenant.provisioner.staging, now)
        assert view.missing == ("packed",)
        order = view.order
        assert order.status == OrderStatus.STAGED
        with pytest.raises(Conflict, match="not packed"):
            order_flow.ship_order(session, tenant.box, order, "yamato", "123456789013", "s")
        order_flow.mark_packed(session, order, "staff hanako")
        (view,) = order_flow.bench_day(session, tenant.provisioner.staging, now)
        assert view.missing == ()
        with pytest.raises(Invalid, match="check digit"):
            order_flow.ship_order(session, tenant.box, order, "yamato", "123456789014", "s")
        shipped_at = dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC)
        order_flow.ship_order(session, tenant.box, order, "yamato", "1234 5678 9013",
                              "staff hanako", now=shipped_at)  # fmt: skip
        assert order_flow.bench_day(session, tenant.provisioner.staging, now) == []
        for mac in macs:
            assert devices.get_device(session, mac).state is DeviceState.SHIPPED
        order_flow.set_status(session, order, OrderStatus.DELIVERED, "api support-bot")
        with pytest.raises(Conflict):
            order_flow.set_status(session, order, OrderStatus.CANCELLED, "api x")
        steps = [(e.step, e.actor) for e in order.history]
        assert steps == [
            ("received", "staff hanako"),
            ("picked", "staff a"),
            ("picked", "staff a"),
            ("staged", order_flow.STAGED_ACTOR),
            ("packed", "staff hanako"),
            ("shipped", "staff hanako"),
            ("delivered", "api support-bot"),
        ]
        exported = order_flow.shipments_csv(session, dt.date(2026, 12, 10))
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert [(r["order"], r["carrier"], r["tracking_number"], r["postal_code"]) for r in rows] == [
        (str(order_id), "yamato", "123456789013", "100-0005")
    ]
    assert rows[0]["shipped_at"] == "2026-12-10T11:00+09:00"


def test_an_order_left_alone_turns_late_once(
    tenant: Service, caplog: pytest.LogCaptureFixture
) -> None:
    kept = upload(tenant, good_sheet())
    assert kept.order is not None
    before = dt.datetime(2026, 12, 11, 14, 59, tzinfo=JST)
    after = dt.datetime(2026, 12, 11, 15, 1, tzinfo=JST)
    with tenant.db.session() as session:
        assert order_flow.sweep(session, before) == []
        assert order_flow.status_counts(session, before) == (
            {"received": 1, "picking": 0, "staged": 0, "shipped": 0, "delivered": 0,
             "cancelled": 0}, 0)  # fmt: skip
        assert [o.id for o in order_flow.sweep(session, after)] == [kept.order.id]
        assert order_flow.sweep(session, after)  # still late, but the step is recorded once
        order = order_flow.get_order(session, kept.order.id)
        assert [e.step for e in order.history].count("late") == 1
        assert order_flow.urgency(order, after) is Urgency.LATE
        assert order_flow.status_counts(session, after)[1] == 1
    assert "is late" in caplog.text


def test_a_company_closed_day_moves_an_uploaded_orders_due_time(tenant: Service) -> None:
    with tenant.db.session() as session:
        session.add(ClosedDay(day=dt.date(2026, 12, 11), reason="棚卸", set_by="admin"))
    kept = upload(tenant, good_sheet())
    assert kept.order is not None
    due = kept.order.due_at.astimezone(JST) if kept.order.due_at else None
    assert due == dt.datetime(2026, 12, 14, 15, 0, tzinfo=JST)  # Fri closed: Monday
    assert "2026-12-11 (Fri) company closed day" in (kept.order.due_basis or "")


def test_a_row_with_more_fields_than_the_header_is_named_not_a_crash(tenant: Service) -> None:
    """csv puts fields past the header under None, as a list: a row error, never a 500."""
    data = sheet(
        f"株式会社オーダー,3001,,受付,,GXP2170,1,{ADDRESS},{RECEIVED}",
        f"株式会社オーダー,3002,,総務,,GXP2170,1,{ADDRESS},,extra",
    )
    assert orders.is_order(data)
    kept = upload(tenant, data)
    assert kept.order is None
    assert [(e.line, e.reason) for e in kept.errors] == [
        (3, "more fields than the header has columns")
    ]
