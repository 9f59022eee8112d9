"""Grandstream files parsed back: the values at the known trap positions, escaping, names.

The traps are the places where a public implementation or a careless reading goes wrong:
HT802 port 2 on the +700 set (P863/P4417), unregister on reboot never on, P212 and P6767 both
on P-value phones, P194 spelled per family, TR-069 switched off only where the family's
template has the switch.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from provisioner.rendering import render_plan
from provisioner.vendors import grandstream
from provisioner.vendors.base import (
    DeviceKind,
    DeviceView,
    FileKind,
    FileRequest,
    ProvisioningContext,
    RenderError,
)
from provisioner.vendors.grandstream import files, parameters
from tests.support.golden_devices import (
    CONTEXT,
    GRANDSTREAM_DEVICES,
    GRP2614,
    GXP1628,
    GXP2170,
    HT802,
    HT814,
    HT818,
    XML_HOSTILE_ADMIN,
    XML_HOSTILE_PASSWORD,
    line,
)
from tests.support.grandstream_file import settings

GS = grandstream.VENDOR


def request_for(device: DeviceView) -> FileRequest:
    request = GS.match_file(GS.device_filename(device.mac, device.model))
    assert request is not None
    return request


def render(device: DeviceView, ctx: ProvisioningContext = CONTEXT) -> bytes:
    plan = GS.plan(request_for(device), device, ctx)
    assert plan is not None
    return render_plan(plan)


def parse(device: DeviceView, ctx: ProvisioningContext = CONTEXT) -> tuple[ET.Element, dict]:
    """The root element and the settings as {P-value or alias: text}, each name once."""
    return settings(render(device, ctx))


@pytest.mark.parametrize("device", GRANDSTREAM_DEVICES, ids=lambda d: d.model.model)
def test_every_file_parses_with_its_mac_and_settings_once(device: DeviceView) -> None:
    root, values = parse(device)
    assert root.tag == "gs_provision"
    assert root.findtext("mac") == device.mac
    expected_version = "2" if device.model.family in ("grp26xx", "gxp21xx") else "1"
    config = root.find("config")
    assert config is not None
    assert config.get("version") == expected_version
    assert len(values) > 30


def test_xml_special_characters_round_trip_exactly() -> None:
    _, values = parse(GXP1628)
    assert values["P34"] == XML_HOSTILE_PASSWORD
    assert values["P2"] == XML_HOSTILE_ADMIN
    _, values = parse(GRP2614)
    assert values["account.1.sip.subscriber.password"] == XML_HOSTILE_PASSWORD
    assert b"a&amp;b&lt;c&gt;d" in render(GXP1628)


def test_japanese_display_names_are_utf8() -> None:
    body = render(GXP1628)
    assert "山田 太郎".encode() in body
    _, values = parse(GXP1628)
    assert values["P3"] == "山田 太郎"
    assert values["P407"] == "佐藤 花子"


def test_gxp2170_uses_the_aliases_of_its_firmware_template() -> None:
    """GXP2130-2170 take the v2 aliases of their 1.0.11.79 template, every account alike."""
    _, values = parse(GXP2170)
    for n, sample in enumerate(GXP2170.lines, start=1):
        assert values[f"account.{n}.enable"] == "Yes"
        assert values[f"account.{n}.sip.server.1.address"] == "pbx.example.jp"
        assert values[f"account.{n}.sip.userid"] == sample.sip_username
        assert values[f"account.{n}.sip.subscriber.userid"] == sample.sip_username
        assert values[f"account.{n}.sip.subscriber.password"] == sample.sip_password
        assert values[f"account.{n}.sip.subscriber.name"] == sample.display_name
        assert values[f"account.{n}.sip.registerExpiration"] == "10"  # minutes (600 s)
        assert values[f"account.{n}.name"] == f"{sample.extension} (0312340000)"
    assert values["tr069.enable"] == "No"
    assert not any(name.startswith("P") and name[1:].isdigit() for name in values)


def test_tr069_is_switched_off_only_where_the_template_has_the_switch() -> None:
    """P1409 is in the HT templates, not in GXP16xx 1.0.4.33's (docs/vendors.md §1.4)."""
    assert "P1409" not in parse(GXP1628)[1]
    assert parse(HT802)[1]["P1409"] == "0"
    assert parse(GRP2614)[1]["tr069.enable"] == "No"


def test_accounts_1_and_2_use_the_documented_blocks() -> None:
    _, values = parse(GXP1628)
    for n, (active, user, password) in enumerate(
        (("P271", "P35", "P34"), ("P401", "P404", "P406")), start=1
    ):
        assert values[active] == "1"
        assert values[user] == GXP1628.lines[n - 1].sip_username
        assert values[password] == GXP1628.lines[n - 1].sip_password


@pytest.mark.parametrize("device", GRANDSTREAM_DEVICES, ids=lambda d: d.model.model)
def test_unregister_on_reboot_is_never_on(device: DeviceView) -> None:
    _, values = parse(device)
    for name in ("P81", "P411", "P511", "P752"):
        assert values.get(name, "0") == "0", name
    for n in range(1, 7):
        assert values.get(f"account.{n}.sip.unregisterOnReboot", "No") == "No"


def test_phones_set_config_and_firmware_protocols_and_daily_check() -> None:
    _, values = parse(GXP1628)
    assert values["P212"] == "2"  # https base
    assert values["P6767"] == "2"
    assert values["P194"] == "2"  # phones: daily at hour P285
    assert values["P237"] == "prov.example.jp/zt"
    assert values["P192"] == "prov.example.jp/firmware"
    assert "P26015" not in values  # "Allow SIP Reset" (factory reset by NOTIFY) stays off
    assert values["P4428"] == "0"  # "Disable SIP NOTIFY Authentication": no
    assert values["P1362"] == "ja"
    assert values["P64"] == "TZZ-9"
    assert values["P145"] == "0"


@pytest.mark.parametrize("device", [HT802, HT814, HT818], ids=lambda d: d.model.model)
def test_atas_use_ht_spelling(device: DeviceView) -> None:
    _, values = parse(device)
    assert values["P212"] == "2"  # firmware upgrade and provisioning
    assert "P6767" not in values
    assert values["P194"] == "1"  # HT: 1 = daily
    assert values["P22296"] == "2"  # newer HT firmware: 2 = daily
    assert "P1362" not in values  # no Japanese display
    assert "P26015" not in values
    assert values["P4428"] == "0"


def test_http_base_gives_http_protocol() -> None:
    ctx = replace(CONTEXT, http_base="http://10.0.0.5:8080")
    _, values = parse(GXP1628, ctx)
    assert (values["P212"], values["P6767"]) == ("1", "1")
    assert values["P237"] == "10.0.0.5:8080"
    assert values["P192"] == "10.0.0.5:8080/firmware"
    _, values = parse(GRP2614, ctx)
    assert values["provisioning.config.protocol"] == "HTTP"


def test_non_default_pbx_port_is_written_with_the_host() -> None:
    _, values = parse(GXP1628, replace(CONTEXT, pbx_port=5080))
    assert values["P47"] == values["P48"] == "pbx.example.jp:5080"


def test_ht802_ports_carry_their_own_japan_and_fax_settings() -> None:
    _, values = parse(HT802)
    assert values["P853"] == values["P863"] == "10"  # caller ID scheme: NTT Japan, both ports
    assert values["P854"] == values["P864"] == "2"  # SLIC: Japan CO
    assert values["P228"] == "0"  # port 1 T.38
    assert values["P710"] == "1"  # port 2 pass-through
    assert values["P4416"] == values["P4417"] == "1"
    assert values["P401"] == "1"
    assert values["P735"] == HT802.lines[1].sip_username
    assert values["P734"] == HT802.lines[1].sip_password
    assert values["P747"] == "pbx.example.jp"
    assert (values["P40"], values["P740"]) == ("5060", "5062")


def test_ht802_empty_port_is_off_and_cleared() -> None:
    _, values = parse(replace(HT802, lines=HT802.lines[:1]))
    assert values["P401"] == "0"
    assert values["P735"] == values["P734"] == ""
    assert values["P863"] == "10"  # the analogue side is still Japanese


def test_ht814_ports_choose_their_fax_mode_by_profile() -> None:
    _, values = parse(HT814)
    assert values["P228"] == "0"  # profile 1: T.38
    assert values["P710"] == "1"  # profile 2: pass-through
    assert [values[f"P{4150 + n}"] for n in range(4)] == ["0", "1", "0", "1"]
    assert [values[f"P{4595 + n}"] for n in range(4)] == ["1"] * 4
    assert values["P4062"] == HT814.lines[2].sip_username
    assert values["P4122"] == HT814.lines[2].sip_password
    assert values["P4182"] == HT814.lines[2].display_name
    assert values["P47"] == values["P747"] == "pbx.example.jp"
    assert values["P853"] == values["P863"] == "10"


def test_ht818_has_eight_ports() -> None:
    _, values = parse(HT818)
    assert [values[f"P{4060 + n}"] for n in range(8)] == [x.sip_username for x in HT818.lines]
    assert values["P4157"] == "0"  # port 8: T.38
    assert values["P4152"] == "1"  # port 3: pass-through
    assert "P4068" not in values


def test_ht81x_unused_port_is_disabled_and_cleared() -> None:
    _, values = parse(replace(HT814, lines=HT814.lines[:2]))
    assert values["P4597"] == values["P4598"] == "0"
    assert values["P4062"] == values["P4122"] == ""


def test_grp2614_uses_aliases_and_their_vocabulary() -> None:
    _, values = parse(GRP2614)
    assert values["account.1.enable"] == "Yes"
    assert values["account.1.sip.registration"] == "Yes"
    assert "account.1.sip.allowSipReset" not in values
    assert values["account.1.sip.registerExpiration"] == "10"
    assert values["account.2.sip.userid"] == GRP2614.lines[1].sip_username
    assert values["account.4.enable"] == "No"  # no line on account 4: off and cleared
    assert values["account.4.sip.subscriber.password"] == ""
    assert "account.5.enable" not in values
    assert values["provisioning.config.protocol"] == "HTTPS"
    assert values["provisioning.auto.mode"] == "YesUpgradeHourOfDay"
    assert values["sip.notify.challenge"] == "Yes"
    assert values["users.admin.password"] == GRP2614.admin_password
    assert not any(name.startswith("P") and name[1:].isdigit() for name in values)


def test_resync_hour_is_in_the_window_and_stable() -> None:
    hours = set()
    for device in GRANDSTREAM_DEVICES:
        _, values = parse(device)
        hour = int(values.get("P285") or values["provisioning.auto.hour"])
        end = int(values.get("P8459") or values["provisioning.auto.endHour"])
        assert 1 <= hour < 5
        assert end == hour + 1
        hours.add(hour)
    assert len(hours) > 1  # spread, not all at once


def test_unused_phone_account_is_off_and_cleared() -> None:
    _, values = parse(replace(GXP1628, lines=GXP1628.lines[:1]))
    assert values["P401"] == "0"
    assert values["P404"] == values["P406"] == values["P417"] == ""


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((line(3),), "beyond the 2 lines"),
        ((line(1), line(1)), "two accounts"),
    ],
)
def test_impossible_ports_are_refused(lines, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        GS.plan(request_for(GXP1628), replace(GXP1628, lines=lines), CONTEXT)


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "tab\there", "\ud800"])
def test_characters_xml_cannot_carry_are_refused(bad: str) -> None:
    bad_line = replace(GXP1628.lines[0], display_name=bad)
    with pytest.raises(RenderError, match="P3: character"):
        GS.plan(request_for(GXP1628), replace(GXP1628, lines=(bad_line,)), CONTEXT)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(RenderError, match="http_base"):
        GS.plan(request_for(GXP1628), GXP1628, replace(CONTEXT, http_base="ftp://x/y"))


def test_plan_serves_only_the_device_file() -> None:
    for name in ("cfg.xml", "cfggxp2170.xml", f"cfg{GXP2170.mac}", f"cfg{GXP2170.mac}.bin"):
        request = GS.match_file(name)
        assert request is not None
        assert GS.plan(request, GXP2170, CONTEXT) is None
    assert GS.plan(request_for(GXP2170), None, CONTEXT) is None
    with pytest.raises(RenderError, match="device given"):
        GS.plan(request_for(GXP2170), GXP1628, CONTEXT)


@pytest.mark.parametrize(
    ("name", "kind", "mac", "model"),
    [
        ("cfg000b82aabbcc.xml", FileKind.DEVICE, "000b82aabbcc", None),
        ("cfg000B82AABBCC.xml", FileKind.DEVICE, "000b82aabbcc", None),
        ("CFGc074ad0b63ee.XML", FileKind.DEVICE, "c074ad0b63ee", None),
        ("cfg000b82aabbcc", FileKind.LEGACY_BINARY, "000b82aabbcc", None),
        ("cfg000b82aabbcc.bin", FileKind.LEGACY_BINARY, "000b82aabbcc", None),
        ("cfg.xml", FileKind.GENERIC, None, None),
        ("cfggxp2170.xml", FileKind.GENERIC, None, "GXP2170"),
        ("cfght802.xml", FileKind.GENERIC, None, "HT802"),
        ("cfggrp2612w.xml", FileKind.GENERIC, None, "GRP2612"),
        ("cfgGXP1628.xml", FileKind.GENERIC, None, "GXP1628"),
    ],
)
def test_file_names(name: str, kind: FileKind, mac: str | None, model: str | None) -> None:
    assert GS.match_file(name) == FileRequest("grandstream", kind, name, mac=mac, model=model)


@pytest.mark.parametrize(
    "name",
    [
        "cfg00:0b:82:aa:bb:cc.xml",
        "cfg000b82aabbc.xml",  # 11 hex digits
        "cfg000b82aabbccd.xml",  # 13
        "../cfg000b82aabbcc.xml",
        "gs/cfg000b82aabbcc.xml",
        "cfg000b82aabbcc.xml.bak",
        "cfg000b82aabbcc.cfg",
        "cfggxv9999.xml",  # not a model we know
        "cfg",
        "Config000B82AABBCC.cfg",
        "KX-HDV230.cfg",
        "",
    ],
)
def test_names_that_are_not_ours(name: str) -> None:
    assert GS.match_file(name) is None


def test_device_filename_is_lower_case() -> None:
    assert GS.device_filename("000B82AABBCC", GXP2170.model) == "cfg000b82aabbcc.xml"
    with pytest.raises(ValueError, match="12 hex"):
        GS.device_filename("00:0b:82:aa:bb:cc", GXP2170.model)


@pytest.mark.parametrize(("agent", "expected"), files.USER_AGENT_SAMPLES.items())
def test_user_agent_samples(agent: str, expected: tuple) -> None:
    info = GS.parse_user_agent(agent)
    assert info is not None
    assert info.vendor == "grandstream"
    assert (info.model, info.firmware, info.mac) == expected


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Panasonic_KX-UT113/01.133 (0080f0c8c381)",
        "Grandstream",
        "Grandstream Model HW",
        "",
    ],
)
def test_user_agents_that_are_not_grandstream(agent: str) -> None:
    assert GS.parse_user_agent(agent) is None


def test_model_table() -> None:
    table = {name: (info.family, info.kind, info.lines) for name, info in GS.models.items()}
    assert table["GXP1630"] == ("gxp16xx", DeviceKind.PHONE, 3)
    assert table["GXP2170"] == ("gxp21xx", DeviceKind.PHONE, 6)
    assert table["GRP2616"] == ("grp26xx", DeviceKind.PHONE, 6)
    assert table["HT802"] == ("ht80x", DeviceKind.ATA, 2)
    assert table["HT818"] == ("ht81x", DeviceKind.ATA, 8)
    assert len(table) == 20
    for info in GS.models.values():
        assert info.vendor == "grandstream"
        assert info.japanese_display is (info.kind is DeviceKind.PHONE)
        if info.file_format == "gs-xml-p" and info.kind is DeviceKind.PHONE:
            assert info.lines <= len(parameters.PHONE_ACCOUNTS)
        assert info.lines <= 8
