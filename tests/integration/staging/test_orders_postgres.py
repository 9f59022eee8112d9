"""Orders on PostgreSQL (timestamptz): the due time, lateness and the day's shipments compare
aware times in SQL, which SQLite only imitates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from provisioner.app.service import Service
from provisioner.db.models import TenantStatus
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.staging import order_flow, orders
from provisioner.domain.staging.business_days import JST
from tests.integration.staging.test_staging_postgres import own_database

pytestmark = pytest.mark.postgres

SHEET = (
    "tenant,extension,direct_number,display_name,mac,model,port,postal_code,prefecture,city,"
    "address_lines,recipient,phone,received_at\n"
    "株式会社PG,7001,,受付,,GXP2170,1,980-0001,宮城県,仙台市青葉区,中央1-1,伊藤 誠,022-123-4567,"
    "2026-12-09T10:00\n"
).encode()


@pytest.fixture
def pg_orders(postgres_url: str) -> Iterator[Service]:
    yield from own_database(postgres_url, "staging_orders")


def test_an_order_is_due_late_and_shipped_on_postgres(pg_orders: Service) -> None:
    service = pg_orders
    with service.db.session() as session:
        tenants.create_tenant(session, "株式会社PG", TenantStatus.ACTIVE, [])
        kept = orders.upload_order(session, service.box, SHEET, "pg.csv", "staff a")
        assert kept.order is not None
        order_id = kept.order.id
    due = dt.datetime(2026, 12, 11, 15, 0, tzinfo=JST)
    with service.db.session() as session:
        order = order_flow.get_order(session, order_id)
        assert order.due_at == due
        assert order_flow.status_counts(session, due - dt.timedelta(minutes=1))[1] == 0
        assert order_flow.status_counts(session, due + dt.timedelta(minutes=1))[1] == 1
        assert [o.id for o in order_flow.sweep(session, due + dt.timedelta(minutes=1))] == [
            order_id
        ]
        devices.create_device(session, service.box, mac="000b82b00001", model="GXP2170")
        orders.fill_slot(session, service.box, order.slots[0].id, "000b82b00001", "GXP2170", "a")
        device = devices.get_device(session, "000b82b00001")
        devices.act(session, service.box, device, Action.STAGE, "t")
        order_flow.bench_day(session, service.provisioner.staging, due)
        order_flow.mark_packed(session, order, "staff a")
        shipped_at = dt.datetime(2026, 12, 11, 23, 30, tzinfo=JST)  # 14:30 UTC, the 11th in JST
        order_flow.ship_order(session, service.box, order, "japanpost", "EJ473124829JP", "staff a",
                              now=shipped_at)  # fmt: skip
    with service.db.session() as session:
        assert order_flow.status_counts(session, due + dt.timedelta(days=1))[1] == 0
        on_the_11th = order_flow.shipments_csv(session, dt.date(2026, 12, 11)).decode("utf-8-sig")
        on_the_12th = order_flow.shipments_csv(session, dt.date(2026, 12, 12)).decode("utf-8-sig")
        steps = [e.step for e in order_flow.get_order(session, order_id).history]
    assert f"{order_id},japanpost,EJ473124829JP,2026-12-11T23:30+09:00" in on_the_11th
    assert len(on_the_12th.splitlines()) == 1  # the header only
    assert steps == ["received", "late", "picked", "staged", "packed", "shipped"]
