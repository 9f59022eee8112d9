"""Panasonic Standard Format files checked line by line against the format's rules.

First line exact, CR LF everywhere including the end, ``NAME="value"`` with no spaces, each
name once, lines <= 537 bytes; and a value that would break its line is refused by name.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from provisioner.rendering import render_plan
from provisioner.vendors import match_file, panasonic, parse_user_agent
from provisioner.vendors.base import DeviceView, FileKind, FileRequest, PhonebookEntry, RenderError
from provisioner.vendors.panasonic import files, parameters
from tests.support.golden_devices import CONTEXT, KX_HDV230, KX_UT133, PANASONIC_DEVICES

PANA = panasonic.VENDOR
HEADER = b"# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!"
LINE = re.compile(rb'^[A-Z0-9_]{1,32}="[^"\r\n]{0,500}"$')


def render(device: DeviceView | None, name: str | None = None) -> bytes:
    if name is None:
        assert device is not None
        name = PANA.device_filename(device.mac, device.model)
    request = PANA.match_file(name)
    assert request is not None
    plan = PANA.plan(request, device, CONTEXT)
    assert plan is not None
    return render_plan(plan)


def settings(body: bytes) -> dict[str, str]:
    """Check every format rule and return the settings."""
    assert body.startswith(HEADER + b"\r\n")
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")
    assert lines[-1] == b""  # nothing after the final CR LF
    found: dict[str, str] = {}
    for raw in lines[1:-1]:
        assert b"\r" not in raw
        assert b"\n" not in raw
        assert len(raw) + 2 <= 537
        if not raw or raw.startswith(b"#"):
            continue
        assert LINE.match(raw), raw
        name, _, value = raw.decode("utf-8").partition("=")
        assert name not in found, f"{name} twice"
        found[name] = value[1:-1]
    return found


@pytest.mark.parametrize("device", PANASONIC_DEVICES, ids=lambda d: d.model.model)
def test_device_files_follow_the_format(device: DeviceView) -> None:
    values = settings(render(device))
    assert values["ADMIN_PASS"] == device.admin_password
    assert values["TIME_ZONE"] == "540"
    assert values["DST_ENABLE"] == "N"
    assert values["NTP_ADDR"] == "ntp.nict.jp"
    assert values["CFG_RESYNC_FROM_SIP"] == "check-sync"
    assert values["PROVISION_ENABLE"] == "Y"
    for sample in device.lines:
        n = sample.port
        assert values[f"PHONE_NUMBER_{n}"] == sample.sip_username
        assert values[f"SIP_AUTHID_{n}"] == sample.sip_username
        assert values[f"SIP_PASS_{n}"] == sample.sip_password
        assert values[f"DISPLAY_NAME_{n}"] == sample.display_name
        assert values[f"SIP_RGSTR_ADDR_{n}"] == values[f"SIP_PRXY_ADDR_{n}"] == "pbx.example.jp"
        assert values[f"SIP_RGSTR_PORT_{n}"] == "5060"
        assert values[f"REG_EXPIRE_TIME_{n}"] == "600"  # seconds, unlike Grandstream
    assert f"PHONE_NUMBER_{device.model.lines + 1}" not in values


def test_each_line_gets_its_own_source_port() -> None:
    values = settings(render(KX_HDV230))
    assert [values[f"SIP_SRC_PORT_{n}"] for n in (1, 2, 3)] == ["5060", "5070", "5080"]


def test_unused_lines_are_written_empty() -> None:
    values = settings(render(KX_UT133))
    assert values["PHONE_NUMBER_4"] == values["SIP_PASS_4"] == values["SIP_RGSTR_ADDR_4"] == ""
    assert "SIP_SRC_PORT_4" not in values


def test_the_bench_file_carries_the_credentials_in_the_file_url() -> None:
    """The guides' way (KX-HDV100 guide §2.1): user:password@ in the provisioning URL."""
    assert KX_HDV230.credentials is not None
    user, password = KX_HDV230.credentials.http_user, KX_HDV230.credentials.http_password
    values = settings(render(KX_HDV230))
    assert values["CFG_STANDARD_FILE_PATH"] == (
        f"https://{user}:{password}@prov.example.jp/zt/Config{{MAC}}.cfg"
    )
    assert not any(name.startswith("HTTP_AUTH") for name in values)  # never documented


def test_the_field_file_leaves_the_url_the_phone_has() -> None:
    """No credentials, and no CFG_STANDARD_FILE_PATH that would drop them from the phone."""
    field = replace(KX_HDV230, credentials=None)
    body = render(field)
    assert "CFG_STANDARD_FILE_PATH" not in settings(body)
    assert b"HttpPw7kQ2mZ9xR4" not in body


def test_the_network_phonebook_url_goes_where_the_file_url_goes() -> None:
    """KX-HDV/KX-TGP600 phones of a tenant: the XML application on and the phonebook URL with
    the device's credentials, in the bench file only; never for a KX-UT or an unbound phone."""
    assert KX_HDV230.credentials is not None
    user, password = KX_HDV230.credentials.http_user, KX_HDV230.credentials.http_password
    values = settings(render(KX_HDV230))
    assert values["XMLAPP_ENABLE"] == "Y"
    assert values["XMLAPP_LDAP_URL"] == (
        f"https://{user}:{password}@prov.example.jp/zt/phonebook/0080f0023001/panasonic.xml"
    )
    for device in (
        replace(KX_HDV230, credentials=None),  # field: the phone keeps what the bench gave
        replace(KX_HDV230, tenant=None),  # no tenant, no phonebook
        replace(KX_UT133, credentials=KX_HDV230.credentials),  # no XML application source
    ):
        assert not any(name.startswith("XMLAPP") for name in settings(render(device)))


@pytest.mark.parametrize("field", ["http_user", "http_password"])
def test_credentials_a_url_cannot_carry_are_refused(field: str) -> None:
    assert KX_HDV230.credentials is not None
    creds = replace(KX_HDV230.credentials, **{field: "pa:ss@word"})
    request = PANA.match_file(PANA.device_filename(KX_HDV230.mac, KX_HDV230.model))
    assert request is not None
    with pytest.raises(RenderError, match=r"CFG_STANDARD_FILE_PATH: .*unencoded"):
        PANA.plan(request, replace(KX_HDV230, credentials=creds), CONTEXT)


def test_no_line_label_is_written() -> None:
    """LINE_ID_n is documented for the KX-TGP500 only, not for these models."""
    assert not any(name.startswith("LINE_ID") for name in settings(render(KX_UT133)))


def test_resync_time_is_in_the_window() -> None:
    for device in PANASONIC_DEVICES:
        hour, minute = settings(render(device))["CFG_RESYNC_TIME"].split(":")
        assert 1 <= int(hour) < 5
        assert 0 <= int(minute) < 60


def test_bootstrap_has_no_secrets() -> None:
    body = render(None, "KX-HDV230.cfg")
    values = settings(body)
    assert values == {
        "CFG_STANDARD_FILE_PATH": "https://prov.example.jp/zt/Config{MAC}.cfg",
        "NTP_ADDR": "ntp.nict.jp",
        "TIME_ZONE": "540",
        "DST_ENABLE": "N",
    }
    assert b"PASS" not in body


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('Taro "The Boss"', "double quote"),
        ("Taro\r\nSIP_PASS_1=x", "U\\+000D"),
        ("Taro\nX", "U\\+000A"),
        ("Taro\x7f", "U\\+007F"),
        ("山" * 167, "501 bytes"),
    ],
)
def test_a_value_that_breaks_its_line_is_refused_by_name(bad: str, reason: str) -> None:
    bad_line = replace(KX_HDV230.lines[0], display_name=bad)
    device = replace(KX_HDV230, lines=(bad_line,))
    request = PANA.match_file(PANA.device_filename(device.mac, device.model))
    assert request is not None
    with pytest.raises(RenderError, match=f"DISPLAY_NAME_1: .*{reason}"):
        PANA.plan(request, device, CONTEXT)


def test_check_text_value_for_the_import_sheet() -> None:
    parameters.check_text_value("display_name", "山田 太郎")
    parameters.check_text_value("display_name", "x" * 500)
    with pytest.raises(RenderError, match=r"^display_name: a double quote"):
        parameters.check_text_value("display_name", 'a"b')
    with pytest.raises(RenderError, match=r"^display_name: .*line breaks"):
        parameters.check_text_value("display_name", "a\nb")
    with pytest.raises(RenderError, match=r"^display_name: 501 bytes"):
        parameters.check_text_value("display_name", "x" * 501)


def test_bad_context_values_are_refused_too() -> None:
    request = PANA.match_file("KX-HDV230.cfg")
    assert request is not None
    with pytest.raises(RenderError, match="NTP_ADDR"):
        PANA.plan(request, None, replace(CONTEXT, ntp_server='ntp"x'))


def test_plan_serves_bootstrap_and_device_only() -> None:
    common = PANA.match_file("ConfigCommon.cfg")
    assert common is not None
    assert PANA.plan(common, None, CONTEXT) is None
    device_request = PANA.match_file(PANA.device_filename(KX_HDV230.mac, KX_HDV230.model))
    assert device_request is not None
    assert PANA.plan(device_request, None, CONTEXT) is None
    with pytest.raises(RenderError, match="device given"):
        PANA.plan(device_request, KX_UT133, CONTEXT)


@pytest.mark.parametrize(
    ("name", "kind", "mac", "model"),
    [
        ("Config0080F0AABBCC.cfg", FileKind.DEVICE, "0080f0aabbcc", None),
        ("Config0080f0aabbcc.cfg", FileKind.DEVICE, "0080f0aabbcc", None),
        ("ConfigCommon.cfg", FileKind.GENERIC, None, None),
        ("KX-HDV230.cfg", FileKind.BOOTSTRAP, None, "KX-HDV230"),
        ("KX-HDV230NE.cfg", FileKind.BOOTSTRAP, None, "KX-HDV230"),
        ("KX-TGP600RU.cfg", FileKind.BOOTSTRAP, None, "KX-TGP600"),
        ("KX-UT136.cfg", FileKind.BOOTSTRAP, None, "KX-UT136"),
        ("kx-ut113.cfg", FileKind.BOOTSTRAP, None, "KX-UT113"),
    ],
)
def test_file_names(name: str, kind: FileKind, mac: str | None, model: str | None) -> None:
    assert PANA.match_file(name) == FileRequest("panasonic", kind, name, mac=mac, model=model)


@pytest.mark.parametrize(
    "name",
    [
        "Config000B82AABBCC.cfg.bak",
        "Config000B82AABBC.cfg",
        "Config00:0B:82:AA:BB:CC.cfg",
        "../Config000B82AABBCC.cfg",
        "Config000B82AABBCC.xml",
        "KX-XYZ999.cfg",
        "KX-TGP500.cfg",  # not a supported model
        "KX-HDV230.cfg.bak",
        "KX-HDV 230.cfg",
        "cfg000b82aabbcc.xml",
        "",
    ],
)
def test_names_that_are_not_ours(name: str) -> None:
    assert PANA.match_file(name) is None


def test_device_filename_is_upper_case() -> None:
    assert PANA.device_filename("0080f0aabbcc", KX_HDV230.model) == "Config0080F0AABBCC.cfg"


def test_registry_routes_each_vendor_its_files() -> None:
    for name, vendor_name in (("KX-HDV230.cfg", "panasonic"), ("cfg000b82aabbcc.xml",
                              "grandstream"), ("Config0080F0AABBCC.cfg", "panasonic")):  # fmt: skip
        request = match_file(name)
        assert request is not None
        assert request.vendor == vendor_name
    agent = parse_user_agent("Panasonic_KX-UT113/01.133 (0080f0c8c381)")
    assert agent is not None
    assert agent.vendor == "panasonic"


@pytest.mark.parametrize(("agent", "expected"), files.USER_AGENT_SAMPLES.items())
def test_user_agent_samples(agent: str, expected: tuple) -> None:
    info = PANA.parse_user_agent(agent)
    assert info is not None
    assert info.vendor == "panasonic"
    assert (info.model, info.firmware, info.mac) == expected


@pytest.mark.parametrize(
    "agent",
    ["Panasonic", "Panasonic KX-UT113", "Grandstream Model HW HT802 SW 1.0.5.4", "curl/8.0", ""],
)
def test_user_agents_that_are_not_panasonic(agent: str) -> None:
    assert PANA.parse_user_agent(agent) is None


def test_model_table() -> None:
    table = {name: (info.family, info.lines) for name, info in PANA.models.items()}
    assert table == {
        "KX-HDV130": ("kx-hdv", 2),
        "KX-HDV230": ("kx-hdv", 6),
        "KX-HDV330": ("kx-hdv", 12),
        "KX-HDV430": ("kx-hdv", 16),
        "KX-TGP600": ("kx-tgp600", 8),
        "KX-UT113": ("kx-ut", 2),
        "KX-UT123": ("kx-ut", 2),
        "KX-UT133": ("kx-ut", 4),
        "KX-UT136": ("kx-ut", 4),
    }
    assert not any(info.japanese_display for info in PANA.models.values())
    assert {info.file_format for info in PANA.models.values()} == {"pana-text"}


def test_the_biggest_model_stays_within_the_file_limits() -> None:
    hdv430 = PANA.models["KX-HDV430"]
    sample = replace(KX_HDV230, model=hdv430, lines=KX_HDV230.lines)
    body = render(sample)
    assert len(body) < 120 * 1024
    settings(body)


def test_the_network_phonebook_keeps_what_ruby_may_not_hold_out() -> None:
    """Ruby takes none of " & ' < > (XML guide §5.2.8); the name may have them, escaped."""
    entry = PhonebookEntry("A&B", "エー&'ビー<>\"", "", (("office", "0312345678"),))
    plan = PANA.phonebook(PANA.models["KX-TGP600"], [entry])
    assert plan is not None
    body = render_plan(plan)
    assert "<Ruby>エービー</Ruby>".encode() in body
    assert b"<Name>A&amp;B</Name>" in body
