"""The staging pages' guards and form checks, through Flask's test client on the real app.

Who may reach them (staging networks, a live staff session), CSRF on every POST, a clear
message for each bad input, all-or-nothing binds, and no secret on any page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, DeviceState, TenantStatus
from provisioner.db.staging import OrderSlot
from provisioner.domain.access import logins, staff
from provisioner.domain.demo import seed_demo
from provisioner.domain.inventory import accounts, devices, tenants
from provisioner.web.staging.messages import translate

PASSWORD = "bench-password-1"
NEW_MAC = "000b82beef01"


def ja(key: str, **values: object) -> str:
    return translate("ja", key, **values)


@dataclass
class Browser:
    client: FlaskClient
    service: Service

    def csrf(self) -> str:
        page = self.client.get("/staging/login" if not self.logged_in() else "/staging/bench")
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

    def logged_in(self) -> bool:
        return self.client.get("/staging/bench").status_code == 200

    def post(self, path: str, **form: str) -> TestResponse:
        return self.client.post(path, data={"csrf": self.csrf(), **form})


@pytest.fixture
def browser(service: Service, client: FlaskClient) -> Browser:
    with service.db.session() as session:
        seed_demo(session, service.box)
        staff.add_staff(session, "hanako", PASSWORD)
    return Browser(client, service)


@pytest.fixture
def logged_in(browser: Browser) -> Browser:
    response = browser.post("/staging/login", username="hanako", password=PASSWORD)
    assert response.status_code == 302
    return browser


def test_pages_answer_only_the_staging_networks(browser: Browser) -> None:
    for path in ("/staging/login", "/staging/bench", "/staging/static/staging.css"):
        response = browser.client.get(path, environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert response.status_code == 403, path
        assert "198.51.100.7" in response.text


def test_every_page_but_the_login_wants_a_live_session(logged_in: Browser) -> None:
    assert logged_in.client.get("/staging/bench").status_code == 200
    with logged_in.service.db.session() as session:
        staff.disable_staff(session, "hanako")
    response = logged_in.client.get("/staging/bench")
    assert response.status_code == 302
    assert response.location.startswith("/staging/login")
    assert logged_in.client.get("/staging/bench/rows").status_code == 302


def test_the_session_cookie_is_httponly_and_strict(browser: Browser) -> None:
    response = browser.post("/staging/login", username="hanako", password=PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/staging" in cookie


def test_a_post_without_its_csrf_token_changes_nothing(logged_in: Browser) -> None:
    response = logged_in.client.post(
        "/staging/devices", data={"mac": NEW_MAC, "model": "GXP2170", "csrf": "forged"}
    )
    assert response.status_code == 400
    assert ja("csrf_failed") in response.text
    with logged_in.service.db.session() as session:
        assert session.scalar(select(Device).where(Device.mac == NEW_MAC)) is None
    login = logged_in.client.post("/staging/login", data={"username": "hanako"})
    assert login.status_code == 400


def test_login_refusals_say_why_and_never_redirect_elsewhere(browser: Browser) -> None:
    assert browser.post("/staging/login", username="", password="").status_code == 422
    wrong = browser.post("/staging/login", username="hanako", password="wrong one")
    assert wrong.status_code == 401
    assert ja("login_refused") in wrong.text
    response = browser.client.post(
        "/staging/login?next=//evil.example/x",
        data={"csrf": browser.csrf(), "username": "hanako", "password": PASSWORD},
    )
    assert response.location == "/staging/bench"


def test_repeated_wrong_passwords_lock_the_name_from_that_address(browser: Browser) -> None:
    for _ in range(logins.PAIR_LIMIT - 1):
        assert browser.post("/staging/login", username="hanako", password="x").status_code == 401
    locked = browser.post("/staging/login", username="hanako", password="x")
    assert locked.status_code == 429
    assert "10 分後" in locked.text
    right = browser.post("/staging/login", username="hanako", password=PASSWORD)
    assert right.status_code == 429
    elsewhere = browser.client.post(
        "/staging/login",
        data={"csrf": browser.csrf(), "username": "hanako", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "127.0.0.2"},
    )
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    "typed", ["000b82beef01", "00:0B:82:BE:EF:01", "00-0b-82-be-ef-01", " 000B82BEEF01 "]
)
def test_scan_takes_every_mac_form(logged_in: Browser, typed: str) -> None:
    response = logged_in.post("/staging/scan", mac=typed)
    assert response.status_code == 200
    assert ja("unknown_device", mac=NEW_MAC.upper()) in response.text


@pytest.mark.parametrize("typed", ["000b82beef0", "01:00:5e:00:00:01", "zz0b82beef01", "x" * 500])
def test_scan_refuses_what_is_not_a_device_mac(logged_in: Browser, typed: str) -> None:
    response = logged_in.post("/staging/scan", mac=typed)
    assert response.status_code == 422
    assert ja("bad_mac") in response.text


def test_a_known_mac_opens_its_device(logged_in: Browser) -> None:
    response = logged_in.post("/staging/scan", mac="00:0b:82:0d:00:0a")
    assert response.status_code == 302
    assert response.location == "/staging/devices/000b820d000a"


def test_adding_a_device_needs_a_known_model(logged_in: Browser) -> None:
    response = logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP9999")
    assert response.status_code == 422
    assert ja("pick_model") in response.text
    assert logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP2170").status_code == 302
    again = logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP2170")
    assert again.status_code == 409
    assert "in the inventory already" in again.text


def _other_tenants_account(service: Service) -> tuple[int, int]:
    with service.db.session() as session:
        other = tenants.create_tenant(session, "他社", TenantStatus.ACTIVE, [])
        account = accounts.create_account(
            session, service.box, other, extension="3001", direct_number="", display_name="他"
        )
        demo = tenants.list_tenants(session, name="demo-tenant")[0]
        return demo.id, account.id


def test_a_bind_is_checked_and_all_or_nothing(logged_in: Browser) -> None:
    logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP2170")
    demo_id, foreign_account = _other_tenants_account(logged_in.service)
    bind = f"/staging/devices/{NEW_MAC}/bind"
    assert ja("pick_tenant") in logged_in.post(bind, line_1="1").text
    assert ja("pick_account") in logged_in.post(bind, tenant_id=str(demo_id)).text
    assert ja("bad_choice") in logged_in.post(bind, tenant_id=str(demo_id), line_x="1").text
    refused = logged_in.post(bind, tenant_id=str(demo_id), line_1=str(foreign_account))
    assert refused.status_code == 409
    assert "belongs to tenant" in refused.text
    with logged_in.service.db.session() as session:
        device = devices.get_device(session, NEW_MAC)
        assert device.state is DeviceState.IN_STOCK  # the bind was undone with the bad line
        assert device.lines == []
        own = session.scalar(
            select(Account.id).where(Account.tenant_id == demo_id, Account.extension == "1001")
        )
    assert ja("bad_choice") in logged_in.post(bind, tenant_id=str(demo_id), line_1=str(own),
                                             ring_1="maybe").text  # fmt: skip
    page = logged_in.client.get(f"/staging/devices/{NEW_MAC}?tenant={demo_id}").text
    assert 'id="ring_1"' in page  # each port: rings for representative numbers or not
    done = logged_in.post(bind, tenant_id=str(demo_id), line_1=str(own), ring_1="no")
    assert done.status_code == 302
    with logged_in.service.db.session() as session:
        device = devices.get_device(session, NEW_MAC)
        assert device.state is DeviceState.BOUND
        assert [line.account.extension for line in device.lines] == ["1001"]
        assert [line.ring_representative for line in device.lines] == [False]
    assert ja("silent_representative") in logged_in.client.get(f"/staging/devices/{NEW_MAC}").text
    page = logged_in.client.get(f"/staging/devices/{NEW_MAC}").text  # the keys its file carries
    assert "1: line 1 1001" in page
    assert ja("keys_default") in page


def test_shipping_wants_a_staged_device(logged_in: Browser) -> None:
    response = logged_in.post("/staging/devices/000b820d000a/ship")
    assert response.status_code == 409
    assert "ship applies to: staged" in response.text


def test_no_page_shows_a_secret(logged_in: Browser) -> None:
    service = logged_in.service
    with service.db.session() as session:
        secrets = {service.box.decrypt(a.sip_password_encrypted) for a in session.scalars(
            select(Account))}  # fmt: skip
        for device in session.scalars(select(Device)):
            creds = devices.credentials(service.box, device)
            secrets |= {creds.admin_password, creds.http_password or "", creds.config_key or ""}
    secrets.discard("")
    assert len(secrets) > 50
    pages = ["/staging/bench", "/staging/bench/rows", "/staging/sheet"]
    pages += [f"/staging/devices/000b820d000{n}" for n in "12345"]
    pages += [f"/staging/devices/000b820d000{n}/label" for n in "12345"]
    pages += ["/staging/devices/000b820d0001?tenant=1"]
    for path in pages:
        response = logged_in.client.get(path)
        assert response.status_code == 200, path
        body = response.text
        leaked = [secret for secret in secrets if secret in body]
        assert not leaked, path


def test_english_on_request(logged_in: Browser) -> None:
    english = logged_in.client.get("/staging/bench?lang=en").text
    assert translate("en", "bench_title") in english
    assert translate("en", "bench_title") in logged_in.client.get("/staging/bench").text
    assert ja("bench_title") in logged_in.client.get("/staging/bench?lang=ja").text


def test_a_sheet_that_is_not_utf8_is_refused_clearly(logged_in: Browser) -> None:
    sheet = "tenant,extension,direct_number,display_name,mac,model,port\n受付".encode("shift_jis")
    response = logged_in.client.post(
        "/staging/sheet",
        data={"csrf": logged_in.csrf(), "sheet": (BytesIO(sheet), "order.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "CSV UTF-8" in response.text
    nothing = logged_in.post("/staging/sheet")
    assert nothing.status_code == 422
    assert ja("no_file") in nothing.text


def test_a_good_sheet_binds_its_devices_onto_the_bench(logged_in: Browser) -> None:
    sheet = (
        "tenant,extension,direct_number,display_name,mac,model,port\n"
        "株式会社シート,2001,,受付,00-0B-82-BE-EF-01,GXP2170,1\n"
        "株式会社シート,2002,,総務,00-0B-82-BE-EF-01,GXP2170,2\n"
    ).encode()
    response = logged_in.client.post(
        "/staging/sheet",
        data={"csrf": logged_in.csrf(), "sheet": (BytesIO(sheet), "order.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert ja("sheet_imported", rows=2, created=1, updated=0) in response.text
    rows = logged_in.client.get("/staging/bench/rows").text
    assert f'data-mac="{NEW_MAC}"' in rows
    assert "1:2001 2:2002" in rows


ORDER = (
    "tenant,extension,direct_number,display_name,mac,model,port\n"
    "株式会社注文,2001,,受付,,GXP2170,1\n"
    "株式会社注文,2002,,総務,,GXP2170,2\n"
    "\n"
    "株式会社注文,2003,,経理,,GXP2170,1\n"
)


def upload(browser: Browser, text: str) -> TestResponse:
    return browser.client.post(
        "/staging/sheet",
        data={"csrf": browser.csrf(), "sheet": (BytesIO(text.encode()), "order-42.csv")},
        content_type="multipart/form-data",
    )


def test_an_order_sheet_without_macs_binds_one_scanned_device_at_a_time(
    logged_in: Browser,
) -> None:
    kept = upload(logged_in, ORDER)
    assert kept.status_code == 200
    assert ja("order_saved", count=2) in kept.text
    logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP2170")
    page = logged_in.client.get(f"/staging/devices/{NEW_MAC}").text
    slots = re.findall(r'<option value="(\d+)">order-42\.csv #(\d)', page)
    assert [position for _, position in slots] == ["1", "2"]
    assert "1:2001 受付 2:2002 総務" in page

    filled = logged_in.post(f"/staging/devices/{NEW_MAC}/fill", slot_id=slots[0][0])
    assert filled.status_code == 302
    with logged_in.service.db.session() as session:
        device = devices.get_device(session, NEW_MAC)
        assert device.state is DeviceState.BOUND
        assert device.tenant.name == "株式会社注文"
        assert [(ln.port, ln.account.extension) for ln in device.lines] == [
            (1, "2001"),
            (2, "2002"),
        ]
    page = logged_in.client.get(f"/staging/devices/{NEW_MAC}").text
    assert "order-42.csv #1" not in page  # filled: offered no more
    assert "order-42.csv #2" in page
    again = logged_in.post(f"/staging/devices/{NEW_MAC}/fill", slot_id=slots[0][0])
    assert again.status_code == 409
    assert "filled by device 000b82beef01 already" in again.text


def test_an_order_is_checked_whole_with_its_own_line_numbers(logged_in: Browser) -> None:
    bad = ORDER.replace("2003,,経理,,GXP2170,1", "203,,経理,,GXP2170,1").replace(
        "2002,,総務,,GXP2170,2", "2002,,総務,,GXP2170,9"
    )
    refused = upload(logged_in, bad)
    assert refused.status_code == 422
    assert ja("sheet_errors", count=2) in refused.text
    assert f"<strong>{ja('sheet_line', line=3)}</strong>: port 9 is beyond" in refused.text
    assert f"<strong>{ja('sheet_line', line=5)}</strong>: extension &#39;203&#39;" in refused.text
    logged_in.post("/staging/devices", mac=NEW_MAC, model="GXP2170")
    assert "order-42.csv" not in logged_in.client.get(f"/staging/devices/{NEW_MAC}").text


def test_an_order_device_must_be_of_its_model(logged_in: Browser) -> None:
    upload(logged_in, ORDER)
    logged_in.post("/staging/devices", mac="0080f0beef02", model="KX-HDV230")
    page = logged_in.client.get("/staging/devices/0080f0beef02").text
    assert "order-42.csv" not in page
    with logged_in.service.db.session() as session:
        slot_id = session.scalar(select(OrderSlot.id))
    refused = logged_in.post("/staging/devices/0080f0beef02/fill", slot_id=str(slot_id))
    assert refused.status_code == 409
    assert "wants a GXP2170" in refused.text
    assert ja("pick_slot") in logged_in.post("/staging/devices/0080f0beef02/fill").text
