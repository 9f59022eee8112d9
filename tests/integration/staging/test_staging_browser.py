"""The staging pages in headless Chromium (Debian's) against a real ``provisioner serve``.

One warehouse shift: log in, scan a MAC that is not in stock (typed, then Enter, as a barcode
scanner does), add it, bind it, watch it on the bench progress by itself after its lease
(posted by curl to /api/v1/dhcp/leases, as the bench DHCP's hook does) and a real fetch of its
config by curl from loopback (a staging network), see it staged, ship it, print its label.
Also: a sheet with bad rows shows each error with its line number and writes nothing, an order
sheet without MACs binds a scanned device to its slot, and a wrong password is refused.
With ``STAGING_SCREENSHOTS=DIR`` the run saves the README's PNGs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from sqlalchemy import select

from provisioner.db.models import Device
from provisioner.db.session import Database
from provisioner.domain.demo import DEMO_TENANT
from provisioner.secretbox import SecretBox
from provisioner.web.staging.messages import translate
from tests.support.pbx_support import REALM, register, run_core
from tests.support.ports import free_port, free_udp_port
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STAFF, PASSWORD = "hanako", "bench-password-1"
MAC_TYPED, MAC = "00:0B:82:5A:11:22", "000b825a1122"
WAIT_MS = 15_000  # the bench refreshes every 2 s; the timeline writer every 0.25 s


def ja(key: str, **values: object) -> str:
    return translate("ja", key, **values)


def add_staff(server: RunningServer) -> None:
    """The bench login, made with the CLI as an operator would (password on stdin)."""
    added = subprocess.run(
        [sys.executable, "-m", "provisioner", "staff", "add", STAFF],
        input=f"{PASSWORD}\n{PASSWORD}\n".encode(), cwd=server.workdir, env=server.env,
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr.decode()


def serve_with_staff(
    workdir: Path, env_extra: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """A server on SQLite in workdir with the staff account, stopped when the module ends."""
    running = start_server(workdir, f"sqlite:///{workdir / 'inventory.db'}", env_extra=env_extra)
    try:
        add_staff(running)
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def staging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from serve_with_staff(tmp_path_factory.mktemp("staging"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is not installed: `make test` installs it")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 800}, locale="ja-JP",
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    browser.clear_cookies()  # each test logs in (or fails to) on its own
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def screenshot(page: Page, name: str, tmp_path: Path, full_page: bool = True) -> None:
    """Always taken (a page that cannot be drawn fails here); kept where asked."""
    target = Path(os.environ.get("STAGING_SCREENSHOTS") or tmp_path) / f"{name}.png"
    page.screenshot(path=str(target), full_page=full_page)
    assert target.stat().st_size > 5_000


def log_in(page: Page, server: RunningServer, password: str = PASSWORD) -> None:
    page.goto(f"{server.http}/staging/")
    expect(page).to_have_url(re.compile(r"/staging/login"))
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def scan(page: Page, typed: str) -> None:
    """As a barcode scanner does: the characters one by one, then Enter."""
    page.locator("#mac").press_sequentially(typed)
    page.locator("#mac").press("Enter")


def upload_sheet(page: Page, server: RunningServer, sheet: Path, *rows: str) -> None:
    """Log in and upload a sheet of these rows under the standard header."""
    header = "tenant,extension,direct_number,display_name,mac,model,port\n"
    sheet.write_text(header + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    log_in(page, server)
    page.click("text=" + ja("nav_sheet"))
    page.set_input_files("#sheet", str(sheet))
    page.click("#upload")


def curl_config(server: RunningServer, name: str) -> int:
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{server.http}/{name}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return int(result.stdout or 0)


def add_lease(server: RunningServer, mac: str, address: str) -> None:
    """A lease as the bench DHCP's hook reports it: POST /api/v1/dhcp/leases, by curl."""
    made = server.cli("token", "create", f"lease-hook-{mac}", "--role", "warehouse")
    assert made.returncode == 0, made.stderr.decode()
    token = made.stdout.decode().strip()
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
         "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
         "--data", json.dumps({"action": "add", "mac": mac, "ip": address}),
         f"{server.http}/api/v1/dhcp/leases"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.stdout == "201"


def test_scan_bind_stage_ship_and_print(
    staging_server: RunningServer, page: Page, tmp_path: Path
) -> None:
    log_in(page, staging_server)
    expect(page).to_have_url(re.compile(r"/staging/bench$"))
    expect(page.locator("h1")).to_have_text(ja("bench_title"))

    scan(page, MAC_TYPED)
    expect(page.locator(".notice")).to_contain_text(ja("unknown_device", mac=MAC.upper()))
    page.select_option("#model", "GXP2170")
    page.click("button[type=submit] >> text=" + ja("create_device"))
    expect(page.locator(".notice")).to_contain_text(ja("device_created", mac="00:0b:82:5a:11:22"))

    tenant = page.locator("#tenant option", has_text=DEMO_TENANT).get_attribute("value")
    page.select_option("#tenant", tenant)
    page.click("#choose-tenant")
    first_account = page.locator("#line_1 option").nth(1).get_attribute("value")
    page.select_option("#line_1", first_account)
    screenshot(page, "scan-bind", tmp_path)
    page.click("#bind")
    expect(page).to_have_url(re.compile(r"/staging/bench$"))
    row = page.locator(f"tr[data-mac='{MAC}']")
    expect(row.locator(".state")).to_have_text(ja("state_bound"))
    expect(row.locator(".config")).to_contain_text(ja("waiting"))
    expect(row.locator(".lease")).to_contain_text(ja("waiting"))
    expect(row.locator(".registered")).to_have_text(ja("unknown"))  # no PBX core to read: a dash

    # The device leases an address and fetches its config; the page is not reloaded.
    page.evaluate("window.notReloaded = true")
    add_lease(staging_server, MAC, "192.0.2.51")
    assert curl_config(staging_server, f"cfg{MAC}.xml") == 200
    expect(row.locator(".lease")).to_contain_text("192.0.2.51", timeout=WAIT_MS)
    expect(row.locator(".config")).to_contain_text("✓", timeout=WAIT_MS)
    expect(row.locator(".state")).to_have_text(ja("state_staged"), timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "bench", tmp_path, full_page=False)

    row.locator("button.ship").click()
    expect(page.locator(".notice")).to_contain_text(ja("shipped", mac="00:0b:82:5a:11:22"))
    expect(page.locator(f"tr[data-mac='{MAC}']")).to_have_count(0)  # off the bench
    shown = staging_server.cli("device", "show", MAC).stdout.decode()
    assert "shipped" in shown
    assert f"staff {STAFF}" in shown

    page.goto(f"{staging_server.http}/staging/devices/{MAC}/label")
    expect(page.locator("#label-mac")).to_have_text("00:0B:82:5A:11:22")
    expect(page.locator(".qr svg path")).to_have_count(1)
    expect(page.locator(".ext")).to_contain_text("1:")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert box is not None
    width_mm = float(box.group(1)) / 72 * 25.4
    assert 61 < width_mm < 63  # the label's print CSS size, 62 mm wide
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one label, one page
    page.evaluate("document.body.style.zoom = 3")  # a 62 mm label is small on a screen
    screenshot(page, "label", tmp_path, full_page=False)


def test_sheet_with_bad_rows_shows_each_line_and_writes_nothing(
    staging_server: RunningServer, page: Page, tmp_path: Path
) -> None:
    upload_sheet(
        page, staging_server, tmp_path / "order.csv",
        "株式会社テスト,2001,,受付,000b82aa0001,GXP2170,1",
        "株式会社テスト,2002,,総務,not-a-mac,GXP2170,1",
        "株式会社テスト,2003,,経理,000b82aa0003,NOPE-1,1",
    )  # fmt: skip
    errors = page.locator("#sheet-errors")
    expect(errors).to_contain_text(ja("sheet_errors", count=2))
    expect(errors.locator("li")).to_have_count(2)
    expect(errors.locator("li").nth(0)).to_contain_text(ja("sheet_line", line=3))
    expect(errors.locator("li").nth(1)).to_contain_text(ja("sheet_line", line=4))
    screenshot(page, "sheet-errors", tmp_path)
    # All rows or none: the good row's device was not added either.
    page.goto(f"{staging_server.http}/staging/bench")
    scan(page, "000B82AA0001")
    expect(page.locator(".notice")).to_contain_text(ja("unknown_device", mac="000B82AA0001"))


def test_wrong_password_is_refused(staging_server: RunningServer, page: Page) -> None:
    log_in(page, staging_server, password="not the password")
    expect(page.locator(".error")).to_have_text(ja("login_refused"))
    page.goto(f"{staging_server.http}/staging/bench")
    expect(page).to_have_url(re.compile(r"/staging/login"))
    expect(page.locator("#bench-rows")).to_have_count(0)


def test_an_order_sheet_binds_a_scanned_device_to_its_slot(
    staging_server: RunningServer, page: Page, tmp_path: Path
) -> None:
    upload_sheet(
        page, staging_server, tmp_path / "order-7.csv",
        "株式会社オーダー,3001,,受付,,HT802,1",
        "株式会社オーダー,3002,,FAX,,HT802,2",
    )  # fmt: skip
    expect(page.locator("#sheet-done")).to_have_text(ja("order_saved", count=1))

    page.click("text=" + ja("nav_bench"))
    scan(page, "00-0B-82-5A-77-01")
    page.select_option("#model", "HT802")
    page.click("button[type=submit] >> text=" + ja("create_device"))
    expect(page.locator("#slot")).to_contain_text("order-7.csv #1")
    page.click("#fill-slot")
    expect(page).to_have_url(re.compile(r"/staging/bench$"))
    row = page.locator("tr[data-mac='000b825a7701']")
    expect(row).to_contain_text("株式会社オーダー")
    expect(row).to_contain_text("1:3001 2:3002")
    expect(row.locator(".state")).to_have_text(ja("state_bound"))


GXP_DEMO = "000b820d000a"  # the demo's GXP2170 (bound, two lines)


def _line_credentials(server: RunningServer, mac: str) -> list[tuple[str, str]]:
    database, box = Database(server.env["PROVISIONER_DB"]), SecretBox(TEST_KEY)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        found = [
            (line.account.sip_username, box.decrypt(line.account.sip_password_encrypted))
            for line in device.lines
        ]
    database.dispose()
    return found


@pytest.mark.sip
def test_the_bench_stages_a_device_only_after_its_lines_registered(
    page: Page, tmp_path: Path
) -> None:
    """With a PBX core to read, a fetched device waits on the bench ("PBX登録" … いいえ) until
    its lines registered from the bench, then stages itself."""
    sip_port, rpc_port = free_udp_port(), free_port()
    server = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={"PROVISIONER_PBX_READERS": f"http://127.0.0.1:{rpc_port}/RPC",
                   "PROVISIONER_REGISTRATION_POLL_SECONDS": "0.5"},
    )  # fmt: skip
    core = None
    try:
        add_staff(server)
        pbx_db = tmp_path / "pbx.sqlite"
        assert server.cli("pbx", "export", "--to", str(pbx_db), "--realm", REALM).returncode == 0
        (tmp_path / "pbx-run").mkdir()
        config = server.cli("pbx", "config", "--listen", f"127.0.0.1:{sip_port}",
                            "--pbx-db", str(pbx_db), "--run-dir", str(tmp_path / "pbx-run"),
                            "--children", "2", "--rpc", f"127.0.0.1:{rpc_port}",
                            "--realm", REALM)  # fmt: skip
        assert config.returncode == 0, config.stderr.decode()
        core = run_core(tmp_path, config.stdout.decode(), sip_port, pbx_db)

        log_in(page, server)
        row = page.locator(f"tr[data-mac='{GXP_DEMO}']")
        expect(row.locator(".state")).to_have_text(ja("state_bound"))
        assert curl_config(server, f"cfg{GXP_DEMO}.xml") == 200
        expect(row.locator(".config")).to_contain_text("✓", timeout=WAIT_MS)
        expect(row.locator(".registered")).to_contain_text(ja("no"), timeout=WAIT_MS)
        expect(row.locator(".state")).to_have_text(ja("state_bound"))  # not before registering
        for user, password in _line_credentials(server, GXP_DEMO):  # all six lines
            assert register(tmp_path, sip_port, user, password, 5999) == "200"
        expect(row.locator(".registered")).to_contain_text("✓", timeout=WAIT_MS)
        expect(row.locator(".state")).to_have_text(ja("state_staged"), timeout=WAIT_MS)
        shown = server.cli("device", "show", GXP_DEMO).stdout.decode()
        assert "registered" in shown
    finally:
        if core is not None:
            core.stop()
        stop_server(server)
