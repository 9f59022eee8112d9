"""The bench's day with orders, in Debian's Chromium against ``provisioner serve`` whose wall
clock the test sets (tests/support/clock_file: a file every server process follows).

Thursday 2026-12-10 10:00 JST: an order received the day before is due tomorrow at the 15:00
cut-off; two devices are scanned and bound to its slots, fetch their config by curl and are
staged by themselves; the packing slip's PDF names both MACs; the order ships with a Yamato
tracking number (a mistyped one is refused first) and leaves the day's list. Another order,
left alone, is due today; at 15:30 it is late: the bench shows the alert, /metrics counts it
and the server logs it.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.integration.staging.test_staging_browser import (
    PASSWORD,
    STAFF,
    WAIT_MS,
    browser,
    curl_config,
    ja,
    page,
    scan,
    screenshot,
    serve_with_staff,
)
from tests.support.paths import ROOT
from tests.support.server import RunningServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser
__all__ = ["browser", "page"]  # the fixtures, shared with the bench's browser test

TENANT = "株式会社出荷テスト"
HEADER = (
    "tenant,extension,direct_number,display_name,mac,model,port,"
    "postal_code,prefecture,city,address_lines,recipient,phone,received_at"
)
ADDRESS = "150-0002,東京都,渋谷区,渋谷2-21-1 ヒカリエ,田中 花子,03-5555-0100"
MACS = ("000b825a2201", "000b825a2202")
THURSDAY_10 = "2026-12-10T01:00:00+00:00"  # 10:00 JST
THURSDAY_1530 = "2026-12-10T06:30:00+00:00"  # 15:30 JST, past the 15:00 cut-off
CLOCK_SITE = ROOT / "tests" / "support" / "clock_file"


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clock") / "now"
    path.write_text(THURSDAY_10 + "\n")
    return path


@pytest.fixture(scope="module")
def order_server(tmp_path_factory: pytest.TempPathFactory, clock: Path) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("orders")
    path = os.pathsep.join(filter(None, [str(CLOCK_SITE), str(ROOT), os.environ.get("PYTHONPATH")]))
    fake = {"TEST_CLOCK_FILE": str(clock), "PYTHONPATH": path}
    yield from serve_with_staff(workdir, fake)


def log_in(page: Page, server: RunningServer) -> None:
    page.goto(f"{server.http}/staging/login")
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staging/bench$"))


def upload_order(page: Page, server: RunningServer, path: Path, received: str, *rows: str) -> None:
    lines = [f"{row},{ADDRESS},{received if i == 0 else ''}" for i, row in enumerate(rows)]
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    page.goto(f"{server.http}/staging/sheet")
    page.set_input_files("#sheet", str(path))
    page.click("#upload")
    expect(page.locator("#sheet-done")).to_have_text(ja("order_saved", count=len(rows)))


def bind_to_slot(page: Page, mac: str, slot: str) -> None:
    """Scan a new device, add it as a GXP2170 and bind it to the order's slot."""
    page.click("text=" + ja("nav_bench"))
    scan(page, mac.upper())
    page.select_option("#model", "GXP2170")
    page.click("button[type=submit] >> text=" + ja("create_device"))
    option = page.locator("#slot option", has_text=slot)
    page.select_option("#slot", option.get_attribute("value"))
    page.click("#fill-slot")
    expect(page).to_have_url(re.compile(r"/staging/bench$"))


def metric(server: RunningServer, name: str) -> str:
    result = subprocess.run(
        ["curl", "-s", f"{server.http}/metrics"], capture_output=True, text=True, timeout=30,
        check=True,
    )  # fmt: skip
    found = re.search(rf"^{name} (\S+)$", result.stdout, re.MULTILINE)
    return found.group(1) if found else ""


def test_an_order_from_sheet_to_shipment_and_one_left_late(
    order_server: RunningServer, clock: Path, page: Page, tmp_path: Path
) -> None:
    log_in(page, order_server)
    upload_order(
        page, order_server, tmp_path / "order-a.csv", "2026-12-09T10:00",
        f"{TENANT},5001,,受付,,GXP2170,1", f"{TENANT},5002,,総務,,GXP2170,1",
    )  # fmt: skip
    upload_order(
        page, order_server, tmp_path / "order-b.csv", "2026-12-08T10:00",
        f"{TENANT},5101,,倉庫,,GXP2170,1",
    )  # fmt: skip

    page.click("text=" + ja("nav_bench"))
    order_a, order_b = (
        page.locator("tr.order[data-order='1']"),
        page.locator("tr.order[data-order='2']"),
    )
    expect(order_a.locator(".due")).to_contain_text(ja("urgency_tomorrow"))
    expect(order_a.locator(".due")).to_contain_text("2026-12-11 15:00")
    expect(order_a.locator(".missing")).to_contain_text(ja("missing_scan"))
    expect(order_b.locator(".due")).to_contain_text(ja("urgency_today"))
    expect(page.locator("tr.order").first).to_have_attribute("data-order", "2")  # by due time
    expect(page.locator("[data-late-order]")).to_have_count(0)
    screenshot(page, "orders-today", tmp_path, full_page=False)

    bind_to_slot(page, MACS[0], "order-a.csv #1")
    bind_to_slot(page, MACS[1], "order-a.csv #2")
    for mac in MACS:
        assert curl_config(order_server, f"cfg{mac}.xml") == 200
        expect(page.locator(f"tr[data-mac='{mac}'] .state")).to_have_text(
            ja("state_staged"), timeout=WAIT_MS
        )
    page.reload()
    expect(order_a.locator(".order-status")).to_have_text(ja("order_status_staged"))
    expect(order_a.locator(".missing")).to_have_text(ja("missing_packed"))

    page.goto(f"{order_server.http}/staging/orders/1/pick")
    expect(page.locator("#pick-counts")).to_contain_text("GXP2170")
    expect(page.locator("#pick-counts td").nth(1)).to_have_text("2")
    page.goto(f"{order_server.http}/staging/orders/1/slip")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF")
    # NFKC: the font's ToUnicode map gives some kanji as Kangxi radicals (⽥ for 田).
    text = unicodedata.normalize(
        "NFKC", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    )
    for mac in MACS:
        assert ":".join(re.findall("..", mac.upper())) in text, text
    assert "150-0002" in text
    assert "田中 花子" in text

    page.goto(f"{order_server.http}/staging/orders/1")
    expect(page.locator("#due-basis")).to_contain_text("before the 15:00 cut-off")
    expect(page.locator("#ship-form")).to_have_count(0)  # packed first
    page.click("button.packed")
    expect(page.locator(".notice")).to_contain_text(ja("order_packed", id=1))
    page.select_option("#carrier", "yamato")
    page.fill("#tracking-number", "1234-5678-9014")  # check digit wrong
    page.click("#ship-order")
    expect(page.locator(".error")).to_contain_text("check digit")
    page.fill("#tracking-number", "1234-5678-9013")
    page.click("#ship-order")
    expect(page.locator(".notice")).to_contain_text(
        ja("order_shipped", id=1, carrier=ja("carrier_yamato"), number="123456789013")
    )
    expect(page.locator("tr.order[data-order='1']")).to_have_count(0)  # off today's list
    expect(page.locator("tr.order[data-order='2']")).to_have_count(1)
    shown = order_server.cli("order", "show", "1").stdout.decode()
    assert f"staff {STAFF}" in shown
    assert "yamato 123456789013" in shown
    for mac in MACS:
        assert "shipped" in order_server.cli("device", "show", mac).stdout.decode()
    csv = order_server.cli("order", "shipments", "--day", "2026-12-10").stdout.decode()
    assert "1,yamato,123456789013" in csv

    # Nobody touches order B; the clock passes its due time.
    assert metric(order_server, "provisioner_orders_late") == "0.0"
    clock.write_text(THURSDAY_1530 + "\n")
    late = page.locator("[data-late-order='2']")

    def turned_late() -> bool:
        page.reload()
        return late.count() == 1

    assert wait_until(turned_late, 15, interval=1.0)
    expect(late).to_contain_text(ja("late_alert", id=2, due="2026-12-10 15:00"))
    expect(page.locator("tr.order[data-order='2'] .due")).to_contain_text(ja("urgency_late"))
    # Each worker process follows the clock file on its own (within a quarter second), so the
    # scrape may land on one that has not moved yet: wait for it rather than race it.
    assert wait_until(lambda: metric(order_server, "provisioner_orders_late") == "1.0", 10, 0.25)
    assert metric(order_server, 'provisioner_orders{status="shipped"}') == "1.0"
    assert re.search(r"order 2 .* is late", (order_server.workdir / "server.log").read_text())
    history = order_server.cli("order", "show", "2").stdout.decode()
    assert "clock: due time passed" in history
