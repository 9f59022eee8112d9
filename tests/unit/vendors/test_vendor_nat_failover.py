"""NAT keep-alive, rport, local ports, the failover core and DNS SRV mode in every family's file
(issue 19, docs/vendors.md §7), each name checked against the vendor's own template."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from provisioner.rendering import render_plan
from provisioner.vendors import vendor
from provisioner.vendors.base import DeviceView, FileKind, FileRequest, ProvisioningContext
from provisioner.vendors.grandstream import catalogue as grandstream_catalogue
from provisioner.vendors.panasonic import catalogue
from tests.support.golden_devices import (
    CONTEXT,
    GRANDSTREAM_DEVICES,
    GRP2614,
    GXP1628,
    GXP2170,
    HT802,
    HT814,
    KX_HDV230,
    KX_UT133,
    PANASONIC_DEVICES,
)

SRV = replace(CONTEXT, pbx_host="example.jp", pbx_backup=None, pbx_srv=True)
NO_BACKUP = replace(CONTEXT, pbx_backup=None)

# HT81x profile 2: the +700 set of HT80x port 2, absent from the HT814/HT818 templates we have
# (docs/vendors.md §7); every other name is in the family's own template (grandstream.catalogue).
INFERRED = {"ht81x": {"P987", "P702", "P730", "P740", "P4568", "P20502"}}
NAT_OR_FAILOVER = re.compile(
    r"P84|P2\d12|P967|P987|P4567|P4568|P20501|P20502|P103|P702|P52|P730|P40|P740|P\d+(?:08|13|14)"
    r"|sip\.keepAliveInterval|account\.\d+\.(?:sip\.server\.2|network|sip\.localPort).*"
)


def grandstream(device: DeviceView, ctx: ProvisioningContext = CONTEXT) -> dict[str, str]:
    request = FileRequest("grandstream", FileKind.DEVICE, f"cfg{device.mac}.xml", mac=device.mac)
    plan = vendor("grandstream").plan(request, device, ctx)
    assert plan is not None
    config = ET.fromstring(render_plan(plan)).find("config")
    assert config is not None
    if config.get("version") == "2":
        return {item.get("name") or "": item.text or "" for item in config}
    return {element.tag: element.text or "" for element in config}


def panasonic(device: DeviceView, ctx: ProvisioningContext = CONTEXT) -> dict[str, str]:
    name = f"Config{device.mac.upper()}.cfg"
    request = FileRequest("panasonic", FileKind.DEVICE, name, mac=device.mac)
    plan = vendor("panasonic").plan(request, device, ctx)
    assert plan is not None
    pairs = re.findall(rb'^([A-Z0-9_]+)="([^"]*)"\r$', render_plan(plan), re.MULTILINE)
    return {key.decode(): value.decode() for key, value in pairs}


@pytest.mark.parametrize("ctx", [CONTEXT, SRV, NO_BACKUP], ids=["backup", "srv", "single"])
@pytest.mark.parametrize("device", GRANDSTREAM_DEVICES, ids=lambda d: d.model.model)
def test_every_grandstream_nat_and_failover_name_is_in_the_vendor_template(
    device: DeviceView, ctx: ProvisioningContext
) -> None:
    family = device.model.family
    written = {name for name in grandstream(device, ctx) if NAT_OR_FAILOVER.fullmatch(name)}
    assert written, "no NAT or failover setting written"
    unknown = {name for name in written if not grandstream_catalogue.knows(family, name)}
    assert unknown == INFERRED.get(family, set())


def test_gxp16xx_accounts_keep_alive_and_fail_over() -> None:
    values = grandstream(GXP1628)
    assert values["P84"] == "15"  # keep-alive interval, seconds (template: 10-160)
    for n, (backup, dns, nat, port) in enumerate(
        [("P2312", "P103", "P52", "P40"), ("P2412", "P408", "P414", "P413")]
    ):
        assert values[backup] == "pbx2.example.jp:5080"
        assert values[dns] == "0"  # A record
        assert values[nat] == "2"  # NAT traversal: keep alive
        assert values[port] == str(5060 + 2 * n)
    assert values["P32"] == "10"  # 600 s, in minutes


def test_gxp21xx_aliases_keep_alive_and_fail_over() -> None:
    values = grandstream(GXP2170)
    assert values["sip.keepAliveInterval"] == "15"
    for n in range(1, 7):
        assert values[f"account.{n}.sip.server.2.address"] == "pbx2.example.jp:5080"
        assert values[f"account.{n}.network.natTraversal"] == "KeepAlive"
        assert values[f"account.{n}.sip.registerExpiration"] == "10"  # 600 s, in minutes


def test_grp_aliases_and_srv_mode() -> None:
    values = grandstream(GRP2614)
    assert values["sip.keepAliveInterval"] == "15"
    assert values["account.2.sip.server.2.address"] == "pbx2.example.jp:5080"
    assert values["account.2.network.natTraversal"] == "KeepAlive"
    assert values["account.2.network.supportRport"] == "Yes"
    assert values["account.3.sip.localPort"] == "5064"
    assert "account.4.sip.server.2.address" not in values  # account 4 is off
    srv = grandstream(GRP2614, SRV)
    assert srv["account.1.sip.server.1.address"] == "example.jp"  # a port would skip SRV
    assert srv["account.1.network.dnsMode"] == "SRV"
    assert srv["account.1.sip.server.2.address"] == ""


def test_ht_ports_and_profiles_fail_over_and_come_back() -> None:
    for device in (HT802, HT814):
        values = grandstream(device)
        assert (values["P967"], values["P987"]) == ("pbx2.example.jp:5080",) * 2
        assert (values["P4567"], values["P4568"]) == ("1", "1")  # prefer the primary
        assert (values["P52"], values["P730"]) == ("2", "2")  # "no, but send keep-alive"
        assert (values["P40"], values["P740"]) == ("5060", "5062")
        assert (values["P20501"], values["P20502"]) == ("0", "0")  # no random port
    srv = grandstream(HT802, SRV)
    assert (srv["P103"], srv["P702"], srv["P47"]) == ("1", "1", "example.jp")


@pytest.mark.parametrize("device", PANASONIC_DEVICES, ids=lambda d: d.model.model)
def test_panasonic_lines_keep_alive_and_fail_over(device: DeviceView) -> None:
    values = panasonic(device)
    for n in range(1, len(device.lines) + 1):
        assert values[f"PORT_PUNCH_INTVL_{n}"] == "15"
        assert values[f"SIP_ADD_RPORT_{n}"] == "Y"
        assert values[f"SIP_2NDRGSTR_ADDR_{n}"] == values[f"SIP_2NDPROXY_ADDR_{n}"]
        assert values[f"SIP_2NDRGSTR_ADDR_{n}"] == "pbx2.example.jp"
        assert values[f"SIP_2NDRGSTR_PORT_{n}"] == "5080"
        assert values[f"SIP_DNSSRV_ENA_{n}"] == "N"
        assert values[f"REG_EXPIRE_TIME_{n}"] == "600"
    for name in values:  # every name comes from Panasonic's samples or guides
        entry = catalogue.lookup(name, device.model)
        assert entry.source, name


def test_panasonic_srv_mode_and_unused_lines() -> None:
    values = panasonic(KX_HDV230, SRV)
    assert values["SIP_DNSSRV_ENA_1"] == "Y"
    assert values["SIP_UDP_SRV_PREFIX_1"] == "_sip._udp."
    assert values["SIP_RGSTR_ADDR_1"] == "example.jp"
    assert values["SIP_2NDRGSTR_ADDR_1"] == ""
    unused = panasonic(KX_UT133)  # line 4 is free: an old owner's failover core is cleared
    assert unused["SIP_2NDRGSTR_ADDR_4"] == unused["SIP_2NDPROXY_ADDR_4"] == ""
    assert "PORT_PUNCH_INTVL_4" not in unused
