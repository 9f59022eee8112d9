"""The lines a customer's network admin pastes into their DHCP server so phones find us.

Same vendor table as the bench (``vendors.py``): options and values are the bench's, only the
syntax differs. dnsmasq, Kea and ISC dhcpd select the vendor's phones by option 60 or MAC
prefix; Yamaha RTX and Cisco IOS have no such class here, so their lines go on the phones'
scope or pool (a voice VLAN).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from dhcp_opt66.dnsmasq_conf import vendor_lines
from dhcp_opt66.vendors import VENDORS, Vendor, VendorOption

SERVERS = ("dnsmasq", "kea", "isc", "rtx", "ios")
_PROV_160 = "provisioning-160"  # our name for 160 where the server needs one declared


def snippet(vendor_name: str, server: str, url: str, with_160: bool = False) -> str:
    vendor = VENDORS[vendor_name]
    options = vendor.options(with_160)
    return _WRITERS[server](vendor, options, url, with_160)


def _dnsmasq(vendor: Vendor, _options: tuple[VendorOption, ...], url: str, with_160: bool) -> str:
    return "\n".join(vendor_lines(vendor, url, with_160)) + "\n"


def _kea_test(vendor: Vendor) -> str:
    by_class = [f"substring(option[60].hex,0,{len(t)}) == '{t}'" for t in vendor.vendor_classes]
    by_mac = [f"substring(pkt4.mac,0,3) == 0x{p.replace(':', '')}" for p in vendor.mac_prefixes]
    return " or ".join(by_class + by_mac)


def _kea(vendor: Vendor, options: tuple[VendorOption, ...], url: str, _with_160: bool) -> str:
    """A Dhcp4 fragment: merge its option-def and client-classes into kea-dhcp4.conf."""
    data = []
    for option in options:
        entry: dict[str, object] = {"code": option.code, "data": option.value(url)}
        if option.code == 160:
            entry |= {"name": _PROV_160, "space": "dhcp4"}
        else:
            entry["name"] = "tftp-server-name"
        if option.force:
            entry["always-send"] = True
        data.append(entry)
    config: dict[str, object] = {
        "client-classes": [{"name": vendor.name, "test": _kea_test(vendor), "option-data": data}]
    }
    if any(option.code == 160 for option in options):
        definition = {"name": _PROV_160, "code": 160, "type": "string", "space": "dhcp4"}
        config = {"option-def": [definition], **config}
    return json.dumps({"Dhcp4": config}, indent=2) + "\n"


def _isc(vendor: Vendor, options: tuple[VendorOption, ...], url: str, _with_160: bool) -> str:
    tests = [
        f'substring(option vendor-class-identifier, 0, {len(t)}) = "{t}"'
        for t in vendor.vendor_classes
    ] + [f"substring(hardware, 1, 3) = {p}" for p in vendor.mac_prefixes]
    lines = []
    if any(option.code == 160 for option in options):
        lines.append(f"option {_PROV_160} code 160 = text;")
    lines.append(f'class "{vendor.name}" {{')
    lines.append("  match if " + "\n        or ".join(tests) + ";")
    for option in options:
        name = _PROV_160 if option.code == 160 else "tftp-server-name"
        lines.append(f'  option {name} "{option.value(url)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _rtx(vendor: Vendor, options: tuple[VendorOption, ...], url: str, _with_160: bool) -> str:
    """Yamaha RTX: ``dhcp scope option SCOPE CODE=VALUE`` on the phones' scope (here 1)."""
    values = " ".join(f'{option.code}="{option.value(url)}"' for option in options)
    return f"# {vendor.name} phones: on the phones' DHCP scope (1 here)\n" + (
        f"dhcp scope option 1 {values}\n"
    )


def _ios(vendor: Vendor, options: tuple[VendorOption, ...], url: str, _with_160: bool) -> str:
    lines = [f"! {vendor.name} phones: in the phones' pool", "ip dhcp pool PHONES"]
    lines += [f' option {option.code} ascii "{option.value(url)}"' for option in options]
    return "\n".join(lines) + "\n"


_WRITERS: dict[str, Callable[[Vendor, tuple[VendorOption, ...], str, bool], str]] = {
    "dnsmasq": _dnsmasq,
    "kea": _kea,
    "isc": _isc,
    "rtx": _rtx,
    "ios": _ios,
}
