"""The customer pages in headless Chromium (Debian's, a phone-sized window) against a real
``provisioner serve``, with SIPp playing the phone for the resync NOTIFY.

A customer's administrator logs in, switches a phone's caller ID to the representative number,
turns representative ringing off for one of its lines, uploads a phonebook with one bad row (the
page names it and nothing is imported) and then a good one, schedules a line's new display name
for one minute later, sees it pending in the history, and sees it applied: the phone gets its
NOTIFY (SIPp checks the Event and answers the Digest challenge with line 1's credentials) and its
next fetch carries the new name. With ``STAGING_SCREENSHOTS=DIR`` the run saves the README's
PNGs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, expect, sync_playwright

from provisioner.domain.demo import DEMO_TENANT, REPRESENTATIVE
from provisioner.web.customer.messages import translate
from tests.integration.delivery.test_resync import demo_device
from tests.integration.staging.test_staging_browser import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.support.paths import SIPP
from tests.support.ports import free_port
from tests.support.server import RunningServer, start_server, stop_server
from tests.support.sip_harness import tail, wait_bound

pytestmark = [pytest.mark.browser, pytest.mark.sip]

USER, PASSWORD = "sato", "customer-password-1"
NEW_NAME = "工事後 受付"
JST = dt.timezone(dt.timedelta(hours=9))
APPLY_WAIT_MS = 120_000  # one minute ahead, then the scheduler's next pass and the NOTIFY


HEADER = "name,reading,group,office,mobile,home\n"
BOOK_NAME = "阿部 商店"
GOOD_SHEET = (
    HEADER + f"{BOOK_NAME},あべしょうてん,取引先,0312345678,,\n伊藤,いとう,,,09012345678,\n"
)
BAD_SHEET = HEADER + f"{BOOK_NAME},あべしょうてん,取引先,0312345678,,\n伊藤,いとう,,,携帯,\n"
BAD_ROW = "3 行目：mobile の '携帯' は電話番号ではありません（数字、* #、先頭の + のみ）"


def _sheet(text: str) -> FilePayload:
    return {"name": "phonebook.csv", "mimeType": "text/csv", "buffer": text.encode()}


def ja(key: str, **values: object) -> str:
    return translate("ja", key, **values)


@pytest.fixture(scope="module")
def sip_port() -> int:
    return free_port(socket.SOCK_DGRAM)


@pytest.fixture(scope="module")
def customer_server(
    tmp_path_factory: pytest.TempPathFactory, sip_port: int
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("customer")
    running = start_server(
        workdir,
        f"sqlite:///{workdir / 'inventory.db'}",
        env_extra={"PROVISIONER_DEVICE_SIP_PORT": str(sip_port)},
    )
    try:
        added = subprocess.run(
            [sys.executable, "-m", "provisioner", "staff", "add", USER, "--tenant", DEMO_TENANT],
            input=f"{PASSWORD}\n{PASSWORD}\n".encode(), cwd=workdir, env=running.env,
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr.decode()
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def phone_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is not installed: `make test` installs it")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True,
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(phone_browser: BrowserContext) -> Iterator[Page]:
    phone_browser.clear_cookies()
    tab = phone_browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def fetch(server: RunningServer, filename: str) -> str:
    """The phone's fetch of its file, by curl from loopback (a staging network)."""
    result = subprocess.run(
        ["curl", "-s", "-f", f"{server.http}/{filename}"],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.decode("utf-8")


def test_a_customer_changes_now_and_on_a_date(
    customer_server: RunningServer, page: Page, sip_port: int, tmp_path: Path
) -> None:
    phone = demo_device(customer_server, "GXP2170")
    page.goto(f"{customer_server.http}/customer/")
    expect(page).to_have_url(re.compile(r"/customer/login"))
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text(ja("devices_title"))
    card = page.locator(f"li[data-mac='{phone.mac}']")
    expect(card.locator(".status")).to_have_text(ja("status_never_connected"))
    screenshot(page, "customer-devices", tmp_path, full_page=False)
    card.locator("a").click()

    # Now: the representative number as caller ID; line 2 no longer rings for it, line 1 does.
    page.select_option("select[name=caller_id]", REPRESENTATIVE)
    page.click("#settings button[type=submit]")
    expect(page.locator(".notice")).to_have_text(ja("saved"))
    expect(page.locator("select[name=caller_id]")).to_have_value(REPRESENTATIVE)
    second = page.locator("form.line[data-port='2']")
    second.locator("input[name=ring_representative]").uncheck()
    second.locator("button[type=submit]").click()
    expect(page.locator(".notice")).to_have_text(ja("saved"))
    expect(second.locator("input[name=ring_representative]")).not_to_be_checked()
    ringing = page.locator("form.line[data-port='1'] input[name=ring_representative]")
    expect(ringing).to_be_checked()

    # The phonebook: a sheet with one bad row is refused with that row named, nothing imported;
    # the corrected sheet replaces the book.
    page.click("text=" + ja("nav_phonebook"))
    page.set_input_files("input[name=sheet]", files=[_sheet(BAD_SHEET)])
    page.click("#upload button[type=submit]")
    expect(page.locator("ul.bad-rows li")).to_have_text([BAD_ROW])
    expect(page.locator("table.phonebook")).not_to_contain_text(BOOK_NAME)
    screenshot(page, "customer-phonebook", tmp_path, full_page=False)
    page.set_input_files("input[name=sheet]", files=[_sheet(GOOD_SHEET)])
    page.click("#upload button[type=submit]")
    expect(page.locator(".notice")).to_have_text(ja("phonebook_imported", entries=2))
    expect(page.locator("table.phonebook")).to_contain_text(BOOK_NAME)
    page.goto(f"{customer_server.http}/customer/devices/{phone.mac}")

    # The phone fetches that file; then it listens for the NOTIFY.
    before = fetch(customer_server, phone.filename)
    assert NEW_NAME not in before
    workdir = tmp_path / "sipp"
    workdir.mkdir()
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(SIPP / "resync_device.xml"), "-i", "127.0.0.1", "-p", str(sip_port),
         "-m", "1", "-key", "user", phone.sip_user, "-key", "password", phone.sip_password,
         "-timeout", "150s", "-timeout_error", "-nostdin", "-trace_err"],
        cwd=workdir, stdout=(workdir / "screen.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_bound(sipp, "127.0.0.1", sip_port, "SIPp", workdir / "screen.log")
        # Scheduled: line 1's new display name, one minute from now (Japan time).
        when = (dt.datetime.now(JST) + dt.timedelta(seconds=60)).replace(microsecond=0)
        line = page.locator("form.line[data-port='1']")
        line.locator("input[name=display_name]").fill(NEW_NAME)
        line.locator("input[name=apply_at]").fill(when.strftime("%Y-%m-%dT%H:%M:%S"))
        line.locator("button[type=submit]").click()
        expect(page.locator(".notice")).to_have_text(
            ja("scheduled", when=when.strftime("%Y-%m-%d %H:%M"))
        )
        assert NEW_NAME not in fetch(customer_server, phone.filename)  # not yet

        page.click("text=" + ja("nav_history"))
        change = page.locator("li.change").first
        expect(change).to_have_attribute("data-status", "pending")
        expect(page.locator("table.history")).to_contain_text("customer sato")
        screenshot(page, "customer-history", tmp_path, full_page=False)
        deadline = time.monotonic() + APPLY_WAIT_MS / 1000
        while change.get_attribute("data-status") == "pending" and time.monotonic() < deadline:
            time.sleep(2)
            page.reload()
        expect(change).to_have_attribute("data-status", "applied")
        assert dt.datetime.now(JST) >= when
        expect(page.locator("table.history")).to_contain_text(f"→ {NEW_NAME}")
        assert sipp.wait(timeout=30) == 0, tail(workdir / "screen.log")
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait()
    assert NEW_NAME in fetch(customer_server, phone.filename)
    shown = customer_server.cli("device", "show", phone.mac).stdout.decode()
    assert "NOTIFY" in shown or "notify" in shown
