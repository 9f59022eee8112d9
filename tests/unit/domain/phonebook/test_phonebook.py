"""The tenant phonebook: CSV in (all rows or none), Grandstream's phonebook XML and Panasonic's
network phonebook out, parsed back equal, in reading order, served only to the tenant's own
devices."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import Client, TestResponse

from provisioner.app.service import Service
from provisioner.db.models import Device, Tenant
from provisioner.db.phonebook import PhonebookEntry as Row
from provisioner.domain.delivery.digest import REALM, DigestResponse, expected_response
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.phonebook.book import (
    PhonebookError,
    entries_for,
    import_phonebook,
    search,
)
from provisioner.rendering import render_plan
from provisioner.vendors import grandstream, panasonic
from provisioner.vendors.base import VendorModule

HEADER = "name,reading,group,office,mobile,home\n"
SHEET = HEADER + (
    '"渡辺 & <五郎>",ワタナベ ゴロウ,"営業 ""本社""",03-1234-5678,090-1111-2222,\n'
    "\"阿部 '一郎'\",あべ いちろう,,0312340001,,\n"
    '佐藤 花子,さとう はなこ,営業 "本社",,,06-1234-0000\n'
    "Zebra Inc.,,,+81312345678,,\n"
)
MINE, THEIRS = "000b82aa0001", "000b82bb0001"
PANA_MINE, PANA_THEIRS = "0080f0aa0001", "0080f0bb0001"
PPXML = "{http://panasonic/sip_phone}"


def _tenant(service: Service, name: str) -> Tenant:
    with service.db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == name)).one()
        session.expunge(tenant)
        return tenant


@pytest.fixture
def two_tenants(service: Service) -> Service:
    rows = [
        {"tenant": "acme", "extension": "1001", "display_name": "受付", "mac": MINE,
         "model": "GXP2170", "port": "1"},
        {"tenant": "other", "extension": "1001", "display_name": "x", "mac": THEIRS,
         "model": "GXP2170", "port": "1"},
        {"tenant": "acme", "extension": "1002", "display_name": "総務", "mac": PANA_MINE,
         "model": "KX-HDV230", "port": "1"},
        {"tenant": "other", "extension": "1002", "display_name": "y", "mac": PANA_THEIRS,
         "model": "KX-HDV230", "port": "1"},
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
    return service


def _import(service: Service, data: str | bytes, tenant: str = "acme") -> None:
    with service.db.session() as session:
        row = session.get(Tenant, _tenant(service, tenant).id)
        assert row is not None
        import_phonebook(session, row, data.encode() if isinstance(data, str) else data)


def _xml_entries(body: bytes) -> list[tuple[str, str, list[tuple[str, str]]]]:
    root = ET.fromstring(body)
    groups = {g.findtext("id"): g.findtext("name") for g in root.iter("pbgroup")}
    return [
        (c.findtext("FirstName") or "", groups.get(c.findtext("Group"), "") or "",
         [(p.get("type") or "", p.findtext("phonenumber") or "") for p in c.iter("Phone")])
        for c in root.iter("Contact")
    ]  # fmt: skip


def _ppxml_entries(body: bytes) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(id, Name, Ruby, [(type, number)]) of each Personnel of a Panasonic PhoneBook."""
    root = ET.fromstring(body)
    assert root.tag == f"{PPXML}ppxml"
    book = root.find(f"{PPXML}Screen/{PPXML}PhoneBook")
    assert book is not None
    return [
        (p.get("id") or "", p.findtext(f"{PPXML}Name") or "", p.findtext(f"{PPXML}Ruby") or "",
         [(n.get("type") or "", n.text or "") for n in p.iter(f"{PPXML}PhoneNum")])
        for p in book.iter(f"{PPXML}Personnel")
    ]  # fmt: skip


def _book(service: Service, module: VendorModule, model: str, text: str = "") -> bytes:
    """What a phone of ``model`` at acme gets (searched for ``text``: all for "")."""
    with service.db.session() as session:
        entries = search(entries_for(session, _tenant(service, "acme").id), text)
    plan = module.phonebook(module.models[model], entries)
    assert plan is not None
    return render_plan(plan)


def test_round_trip_with_japanese_and_xml_special_characters(two_tenants: Service) -> None:
    _import(two_tenants, SHEET)
    body = _book(two_tenants, grandstream.VENDOR, "GXP2170")
    assert _xml_entries(body) == [
        ("阿部 '一郎'", "", [("Work", "0312340001")]),  # あ
        ("佐藤 花子", '営業 "本社"', [("Home", "0612340000")]),  # さ
        ("渡辺 & <五郎>", '営業 "本社"', [("Work", "0312345678"), ("Cell", "09011112222")]),  # わ
        ("Zebra Inc.", "", [("Work", "+81312345678")]),  # no reading: after those with one
        ("受付", "内線", [("Work", "1001")]),  # the tenant's own extensions, added
        ("総務", "内線", [("Work", "1002")]),
    ]
    assert b"&amp; &lt;" in body


def test_panasonic_round_trip_with_japanese_and_xml_special_characters(
    two_tenants: Service,
) -> None:
    _import(two_tenants, SHEET)
    body = _book(two_tenants, panasonic.VENDOR, "KX-HDV230")
    assert _ppxml_entries(body) == [
        ("1", "阿部 '一郎'", "あべ いちろう", [("company", "0312340001")]),
        ("2", "佐藤 花子", "さとう はなこ", [("home", "0612340000")]),
        ("3", "渡辺 & <五郎>", "ワタナベ ゴロウ",
         [("company", "0312345678"), ("mobile", "09011112222")]),
        # "Zebra Inc." has only +81...: the phone takes 0-9 # * only, so it is left out
        ("4", "受付", "", [("ext", "1001")]),
        ("5", "総務", "", [("ext", "1002")]),
    ]  # fmt: skip
    assert b"&amp; &lt;" in body
    # KX-UT phones are not covered by the XML application guide: they get none.
    assert panasonic.VENDOR.phonebook(panasonic.VENDOR.models["KX-UT133"], []) is None


def test_panasonic_answers_ten_at_most_names_cut_to_24_and_search_by_reading(
    two_tenants: Service,
) -> None:
    long_name = "株式会社ながいなまえの会社 東京本社 営業部 第一課"
    rows = "".join(f"社員{n:02d},しゃいん,,03{n:08d},,\n" for n in range(12))
    _import(two_tenants, HEADER + f"{long_name},ながい,,0311112222,,\n" + rows)
    people = _ppxml_entries(_book(two_tenants, panasonic.VENDOR, "KX-HDV430"))
    assert [p[0] for p in people] == [str(n) for n in range(1, 11)]  # ids 1-10 (Japanese models)
    assert people[9][1] == "社員09"  # reading order: しゃいん x12 (names 00-11), then ながい
    # katakana finds hiragana; the name is cut to the 24 characters the phone shows
    (found,) = _ppxml_entries(_book(two_tenants, panasonic.VENDOR, "KX-HDV430", "ナガイ"))
    assert found[1] == long_name[:24]
    assert len(long_name) > 24
    # full width finds half width, in names too
    names = [
        p[1] for p in _ppxml_entries(_book(two_tenants, panasonic.VENDOR, "KX-HDV430", "社員１"))
    ]
    assert names == ["社員10", "社員11"]


def test_a_sheet_with_bad_rows_changes_nothing_and_names_each_line(two_tenants: Service) -> None:
    _import(two_tenants, SHEET)
    bad = HEADER + "ok,,,0312345678,,\n,,,0312345678,,\nx,カタカナ漢字,,1,,\ny,,,,,\nz,,,abc,,\n"
    with pytest.raises(PhonebookError) as refused:
        _import(two_tenants, bad)
    assert refused.value.errors == [
        "line 3: name is empty",
        "line 4: reading 'カタカナ漢字' is not kana",
        "line 5: no number (office, mobile or home)",
        "line 6: office 'abc' is not a phone number (digits, * # and a leading +)",
    ]
    with two_tenants.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Row)) == 4  # the old book stays
    for sheet, message in ((b"\xff\xfe", "not UTF-8"), (b"who,what\n", "the header must be")):
        with pytest.raises(PhonebookError, match=message):
            _import(two_tenants, sheet)


def test_five_thousand_entries_import(two_tenants: Service) -> None:
    """That it works at this size; how fast is bench/phonebook_import.py's job."""
    kana = "あいうえおかきくけこ"  # a reading per number: each digit a kana
    rows = "".join(
        f"名前{n},{''.join(kana[int(d)] for d in str(n))},,03{n:08d},,\n" for n in range(5000)
    )
    _import(two_tenants, HEADER + rows)
    with two_tenants.db.session() as session:
        assert len(entries_for(session, _tenant(two_tenants, "acme").id)) == 5002


def _digest(service: Service, mac: str, challenge: str, uri: str) -> str:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == mac)).one()
        user, encrypted = device.http_user, device.http_password_encrypted
    assert user
    assert encrypted
    nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
    answer = DigestResponse(user, REALM, nonce, uri, "", "auth", "00000001", "0a4f113b", "MD5")
    response = expected_response(answer, service.box.decrypt(encrypted), "GET")
    return (
        f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
        f'qop=auth, nc=00000001, cnonce="0a4f113b", response="{response}", algorithm=MD5'
    )


def _as_device(client: Client, service: Service, mac: str, uri: str) -> TestResponse:
    """GET ``uri`` from the field as device ``mac``: challenged first, then Digest with its own
    credentials."""
    field = {"REMOTE_ADDR": "192.0.2.10"}
    challenge = client.get(uri, environ_base=field)
    assert challenge.status_code == 401
    header = _digest(service, mac, challenge.headers["WWW-Authenticate"], uri)
    return client.get(uri, environ_base=field, headers={"Authorization": header})


def test_only_the_tenants_own_device_gets_the_phonebook(two_tenants: Service, app: Flask) -> None:
    _import(two_tenants, SHEET)
    client = Client(app)
    uri = f"/phonebook/{MINE}/phonebook.xml"
    served = _as_device(client, two_tenants, MINE, uri)
    assert served.status_code == 200
    assert len(_xml_entries(served.data)) == 6
    # Another tenant's device, with its own valid credentials, asking for this one's book.
    assert _as_device(client, two_tenants, THEIRS, uri).status_code == 401
    # Its own book has none of acme's entries.
    theirs = _as_device(client, two_tenants, THEIRS, f"/phonebook/{THEIRS}/phonebook.xml")
    assert [name for name, _, _ in _xml_entries(theirs.data)] == ["x", "y"]


def test_only_the_tenants_own_panasonic_phone_gets_its_network_phonebook(
    two_tenants: Service, app: Flask
) -> None:
    _import(two_tenants, SHEET)
    client = Client(app)
    uri = f"/phonebook/{PANA_MINE}/panasonic.xml?name=%E3%82%8F%E3%81%9F"  # わた
    served = _as_device(client, two_tenants, PANA_MINE, uri)
    assert served.status_code == 200
    assert [p[1] for p in _ppxml_entries(served.data)] == ["渡辺 & <五郎>"]
    # Another tenant's Panasonic phone, with its own valid credentials: refused.
    assert _as_device(client, two_tenants, PANA_THEIRS, uri).status_code == 401
    # Its own book (no search: the first ten) has none of acme's entries.
    own = f"/phonebook/{PANA_THEIRS}/panasonic.xml"
    theirs = _as_device(client, two_tenants, PANA_THEIRS, own)
    assert [p[1] for p in _ppxml_entries(theirs.data)] == ["x", "y"]
    # A Grandstream phone asking for the Panasonic file is not that vendor's device: 401.
    grand = f"/phonebook/{MINE}/panasonic.xml"
    assert _as_device(client, two_tenants, MINE, grand).status_code == 401
    field = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get(f"/phonebook/{MINE}/other.xml", environ_base=field).status_code == 404
