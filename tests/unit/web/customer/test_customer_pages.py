"""The customer pages through Flask's test client: a customer's administrator logs in from any
network, sees and changes its own tenant's phones only (another tenant's phone is 404), changes
now or at a time, and reads its history; staff and customer logins stay on their own pages."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from provisioner.app.service import Service
from provisioner.db.actor import SERVICE, current
from provisioner.db.audit import AuditRecord, ScheduledChange
from provisioner.db.models import Device, Tenant, TenantStatus, utcnow
from provisioner.domain.access import staff
from provisioner.domain.demo import DEMO_TENANT, REPRESENTATIVE, seed_demo
from provisioner.domain.inventory import accounts, devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.phonebook.book import MAX_ENTRIES, PhonebookError, parse_sheet
from provisioner.web.customer.messages import phonebook_row, translate

PASSWORD = "customer-password-1"
OTHER_MAC = "000b82cc0009"
OUTSIDE = {"REMOTE_ADDR": "198.51.100.7"}  # not a staging network


def ja(key: str, **values: object) -> str:
    return translate("ja", key, **values)


@dataclass
class Customer:
    client: FlaskClient
    service: Service
    mac: str  # a phone of the demo tenant, the customer's

    def csrf(self) -> str:
        page = self.client.get("/customer/login", environ_base=OUTSIDE)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    def get(self, path: str) -> TestResponse:
        return self.client.get(path, environ_base=OUTSIDE)

    def post(self, path: str, **form: str) -> TestResponse:
        return self.client.post(path, data={"csrf": self.csrf(), **form}, environ_base=OUTSIDE)


@pytest.fixture
def customer(service: Service, client: FlaskClient) -> Customer:
    with service.db.session() as session:
        seed_demo(session, service.box)
        demo = session.scalars(select(Tenant).where(Tenant.name == DEMO_TENANT)).one()
        staff.add_staff(session, "sato", PASSWORD, demo)
        staff.add_staff(session, "hanako", PASSWORD)
        other = tenants.create_tenant(
            session, name="他社", status=TenantStatus.ACTIVE, allowed_networks=[]
        )
        account = accounts.create_account(
            session, service.box, other, extension="2001", direct_number="", display_name="他"
        )
        device = devices.create_device(session, service.box, mac=OTHER_MAC, model="GXP2170")
        devices.act(session, service.box, device, Action.BIND, "test", other)
        devices.set_line(session, device, 1, account, "")
        mac = session.scalars(
            select(Device.mac).where(Device.tenant_id == demo.id).order_by(Device.mac)
        ).first()
    assert mac is not None
    found = Customer(client, service, mac)
    assert found.post("/customer/login", username="sato", password=PASSWORD).status_code == 302
    return found


def test_the_customer_sees_its_own_phones_only(customer: Customer) -> None:
    listing = customer.get("/customer/")
    assert listing.status_code == 200
    assert ja("devices_title") in listing.text
    assert customer.mac in listing.text
    assert OTHER_MAC not in listing.text
    assert ja("status_never_connected") in listing.text
    assert customer.get(f"/customer/devices/{OTHER_MAC}").status_code == 404
    assert customer.get(f"/customer/devices/{customer.mac}").status_code == 200
    refused = customer.post(f"/customer/devices/{OTHER_MAC}/settings", caller_id="direct")
    assert refused.status_code == 302
    assert "no device" in customer.get("/customer/").text  # the API's 404, flashed
    english = customer.get("/customer/?lang=en")
    assert "Your phones" in english.text


def test_a_change_now_and_one_at_a_time(customer: Customer) -> None:
    mac = customer.mac
    done = customer.post(f"/customer/devices/{mac}/settings", caller_id=REPRESENTATIVE)
    assert done.status_code == 302
    with customer.service.db.session() as session:
        device = devices.get_device(session, mac)
        assert devices.caller_id(device) == ("representative", REPRESENTATIVE)
    later = (utcnow() + dt.timedelta(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    customer.post(f"/customer/devices/{mac}/settings", caller_id="direct",
                  apply_at=later.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
    page = customer.get(f"/customer/devices/{mac}")
    assert ja("scheduled", when=later.strftime("%Y-%m-%d %H:%M")) in page.text
    with customer.service.db.session() as session:
        change = session.scalars(select(ScheduledChange)).one()
        assert (change.actor, change.role, change.status) == (
            "customer sato",
            "customer",
            "pending",
        )
        assert devices.caller_id(devices.get_device(session, mac))[0] == "representative"
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.actor == "customer sato")
        ).all()
    assert {(r.door, r.object_type) for r in records} == {
        ("page", "devices"), ("page", "scheduled_changes")}  # fmt: skip
    history = customer.get("/customer/history")
    assert ja("status_pending") in history.text
    assert "{&#34;caller_id&#34;: &#34;direct&#34;" in history.text
    assert history.text.count('<tr class="record') == 50  # the demo import's records: paged
    assert "customer sato" not in customer.get("/customer/history?offset=50").text
    assert "customer sato" in history.text
    cancelled = customer.post(f"/customer/scheduled/{change.id}/cancel")
    assert cancelled.status_code == 302
    assert ja("status_cancelled") in customer.get("/customer/history").text
    exported = customer.get("/customer/history.csv").text
    assert "customer sato" in exported
    assert OTHER_MAC not in exported


def test_staff_and_customers_keep_to_their_own_pages(customer: Customer) -> None:
    fresh = customer.client.application.test_client()
    staging = fresh.post(
        "/staging/login", data={"csrf": "x", "username": "sato", "password": PASSWORD}
    )
    assert staging.status_code == 400  # no staging session: its CSRF check comes first
    page = fresh.get("/staging/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    refused = fresh.post(
        "/staging/login", data={"csrf": token.group(1), "username": "sato", "password": PASSWORD}
    )
    assert refused.status_code == 401
    customer.post("/customer/logout")
    assert customer.get("/customer/").status_code == 302
    staff_login = customer.post("/customer/login", username="hanako", password=PASSWORD)
    assert staff_login.status_code == 401


def test_no_request_leaves_its_actor_or_scope_behind(customer: Customer) -> None:
    """A worker thread serves many requests: a customer's scope must end with its request, also
    when the page called the API in-process inside it."""
    customer.post(f"/customer/devices/{customer.mac}/settings", caller_id="direct")
    customer.get("/customer/history")
    assert current() == SERVICE


def test_one_lines_name_and_ringing_and_the_phones_own_settings(customer: Customer) -> None:
    mac = customer.mac
    with customer.service.db.session() as session:
        ports = [line.port for line in devices.get_device(session, mac).lines]
    assert ports[:1] == [1]
    page = customer.get(f"/customer/devices/{mac}").text
    assert ja("phone_settings") in page
    assert 'name="ntp_server"' not in page  # the service's, not the customer's
    # Line 1: ringing off, its name unchanged (one change, not two).
    done = customer.post(f"/customer/devices/{mac}/lines/1", display_name=_name(customer, 1))
    assert done.status_code == 302
    assert ja("saved") in customer.get(f"/customer/devices/{mac}").text
    with customer.service.db.session() as session:
        device = devices.get_device(session, mac)
        assert [ln.ring_representative for ln in device.lines][:1] == [False]
        assert device.ring_representative is True  # the phone's other lines ring as before
        updated = session.scalars(
            select(AuditRecord.object_type).where(AuditRecord.actor == "customer sato")
        ).all()
    assert updated == ["device_lines"]
    customer.post(f"/customer/devices/{mac}/lines/1", display_name=_name(customer, 1))
    assert ja("unchanged") in customer.get(f"/customer/devices/{mac}").text
    # The phone's own clock; then back to its tenant's or model's.
    customer.post(f"/customer/devices/{mac}/phone-settings", time_format="12h")
    assert 'value="12h" selected' in customer.get(f"/customer/devices/{mac}").text
    customer.post(f"/customer/devices/{mac}/phone-settings", time_format="")
    with customer.service.db.session() as session:
        assert session.scalars(select(AuditRecord.action).where(
            AuditRecord.object_type == "setting_values")).all() == ["create", "delete"]  # fmt: skip
    # Another tenant's phone: nothing to change.
    customer.post(f"/customer/devices/{OTHER_MAC}/lines/1", display_name="x")
    assert ja("not_found") in customer.get("/customer/").text


def _name(customer: Customer, port: int) -> str:
    with customer.service.db.session() as session:
        device = devices.get_device(session, customer.mac)
        return next(ln.account.display_name for ln in device.lines if ln.port == port)


def test_keys_of_a_phone(customer: Customer) -> None:
    mac = customer.mac
    keys = customer.get(f"/customer/devices/{mac}/keys")
    assert keys.status_code == 200
    assert ja("keys_default") in keys.text
    customer.post(f"/customer/devices/{mac}/keys", position="2", type="speed_dial",
                  value="0312345678", label="本社")  # fmt: skip
    keys = customer.get(f"/customer/devices/{mac}/keys").text
    assert ja("keys_own") in keys
    assert "本社" in keys
    refused = customer.post(f"/customer/devices/{mac}/keys", position="9999", type="none")
    assert refused.status_code == 302
    assert ja("refused", reason="") in customer.get(f"/customer/devices/{mac}/keys").text
    customer.post(f"/customer/devices/{mac}/keys/2/delete")
    assert "本社" not in customer.get(f"/customer/devices/{mac}/keys").text
    assert customer.get(f"/customer/devices/{OTHER_MAC}/keys").status_code == 404
    for path in (f"/customer/devices/{mac}", f"/customer/devices/{mac}/keys"):
        english = customer.get(path + "?lang=en")  # every text has its English
        assert english.status_code == 200
        assert "Set a key" in english.text or "Phone settings" in english.text


def test_a_phonebook_with_a_bad_row_is_named_and_nothing_is_imported(customer: Customer) -> None:
    header = "name,reading,group,office,mobile,home\n"
    bad = (header + "阿部,あべ,,0312345678,,\n伊藤,いとう,,電話,,\n").encode()
    refused = _upload(customer, bad)
    assert refused.status_code == 422
    assert "3 行目：office の &#39;電話&#39; は電話番号ではありません" in refused.text
    assert ja("phonebook_rows") in refused.text
    assert "阿部" not in refused.text  # nothing imported
    done = _upload(customer, (header + "阿部,あべ,,0312345678,,\n").encode())
    assert done.status_code == 302
    shown = customer.get("/customer/phonebook").text
    assert ja("phonebook_imported", entries=1) in shown
    assert "阿部" in shown
    english = customer.get("/customer/phonebook?lang=en").text
    assert "Phonebook" in english


def _upload(customer: Customer, sheet: bytes) -> TestResponse:
    return customer.client.post(
        "/customer/phonebook",
        data={"csrf": customer.csrf(), "sheet": (io.BytesIO(sheet), "book.csv")},
        content_type="multipart/form-data",
        environ_base=OUTSIDE,
    )


@pytest.mark.parametrize(
    "sheet",
    [
        "name,reading,group,office,mobile,home\n阿部,あべ,,0312345678,,,余分\n",
        "name,reading,group,office,mobile,home\n阿\x01部,あべ,,0312345678,,\n",
        f"name,reading,group,office,mobile,home\n{'長' * 101},,,0312345678,,\n",
        "name,reading,group,office,mobile,home\n,あべ,,0312345678,,\n",
        "name,reading,group,office,mobile,home\n阿部,abe,,0312345678,,\n",
        "name,reading,group,office,mobile,home\n阿部,あべ,,,携帯,\n",
        "name,reading,group,office,mobile,home\n阿部,あべ,,,,\n",
        "name,yomi\n阿部,あべ\n",
        "name,office\n" + "阿部,0312345678\n" * (MAX_ENTRIES + 1),
        "\udcff",  # not UTF-8
    ],
)
def test_every_phonebook_refusal_reads_in_japanese(sheet: str) -> None:
    """Each reason the import gives (the API's English) has its Japanese on the page; a
    reworded reason fails here rather than showing English on a Japanese page."""
    data = sheet.encode("utf-8", "surrogateescape")
    with pytest.raises(PhonebookError) as refused:
        parse_sheet(data)
    for row in refused.value.errors:
        shown = phonebook_row("ja", row)
        assert not re.search(r"\b(line|is|has|the|than|no|not|got)\b", shown), shown
        assert phonebook_row("en", row) == row
