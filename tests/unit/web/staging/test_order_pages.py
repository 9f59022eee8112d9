"""The orders pages through Flask's test client: a refused shipment keeps the order as it was,
the shipments CSV, not-found and bad input answers, the network guard, and the migration."""

from __future__ import annotations

from sqlalchemy import inspect

from provisioner.app.service import Service
from provisioner.domain.staging import order_flow, orders
from tests.unit.web.staging.test_staging_pages import Browser, browser, ja, logged_in

__all__ = ["browser", "logged_in"]  # the fixtures of the bench pages' tests

SHEET = (
    "tenant,extension,direct_number,display_name,mac,model,port,"
    "postal_code,prefecture,city,address_lines,recipient,phone\n"
    "株式会社ページ,6001,,受付,,GXP2170,1,900-0001,沖縄県,那覇市,港町1-1,比嘉 一,098-123-4567\n"
).encode()


def make_order(service: Service) -> int:
    with service.db.session() as session:
        kept = orders.upload_order(session, service.box, SHEET, "page.csv", "staff hanako")
        assert kept.order is not None
        return kept.order.id


def test_order_page_pick_list_and_slip(logged_in: Browser) -> None:
    order_id = make_order(logged_in.service)
    page = logged_in.client.get(f"/staging/orders/{order_id}")
    assert page.status_code == 200
    assert "〒900-0001 沖縄県那覇市港町1-1" in page.text
    assert ja("missing_scan") in page.text
    assert 'id="ship-form"' not in page.text  # not staged
    assert "GXP2170" in logged_in.client.get(f"/staging/orders/{order_id}/pick").text
    assert "比嘉 一" in logged_in.client.get(f"/staging/orders/{order_id}/slip").text
    bench = logged_in.client.get("/staging/bench").text
    assert f'data-order="{order_id}"' in bench
    for path in ("/staging/orders/99", "/staging/orders/99/pick", "/staging/orders/99/slip"):
        assert logged_in.client.get(path).status_code == 404, path


def test_a_refused_shipment_changes_nothing(logged_in: Browser) -> None:
    order_id = make_order(logged_in.service)
    refused = logged_in.post(
        f"/staging/orders/{order_id}/ship", carrier="yamato", tracking_number="123456789013"
    )
    assert refused.status_code == 409
    assert "only a staged order ships" in refused.text
    bad = logged_in.post(f"/staging/orders/{order_id}/ship", carrier="pigeon", tracking_number="1")
    assert bad.status_code == 422
    assert logged_in.post(f"/staging/orders/{order_id}/packed").status_code == 409
    with logged_in.service.db.session() as session:
        order = order_flow.get_order(session, order_id)
        assert (order.status, order.tracking_number) == ("received", None)
        assert [event.step for event in order.history] == ["received"]


def test_shipments_csv_and_its_day(logged_in: Browser) -> None:
    empty = logged_in.client.get("/staging/orders/shipments.csv?day=2026-12-10")
    assert empty.status_code == 200
    assert empty.headers["Content-Type"].startswith("text/csv")
    assert 'filename="shipments-2026-12-10.csv"' in empty.headers["Content-Disposition"]
    assert empty.data.startswith("\ufefforder,carrier,tracking_number".encode())
    assert logged_in.client.get("/staging/orders/shipments.csv?day=yesterday").status_code == 422


def test_order_pages_need_a_login_and_the_bench_network(browser: Browser) -> None:
    assert browser.client.get("/staging/orders").status_code == 302  # to the login
    away = browser.client.get("/staging/orders", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert away.status_code == 403


def columns(service: Service) -> set[str]:
    return {c["name"] for c in inspect(service.db.engine).get_columns("staging_orders")}


def test_the_order_tables_come_and_go_with_their_migration(service: Service) -> None:
    service.db.downgrade("0008")
    tables = inspect(service.db.engine).get_table_names()
    assert "staging_order_events" not in tables
    assert "company_closed_days" not in tables
    assert "due_at" not in columns(service)
    service.db.upgrade()
    assert "due_at" in columns(service)
