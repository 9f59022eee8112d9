"""What each phone vendor expects from DHCP, in one table: how to recognise its devices (option 60
substrings, MAC prefixes) and which options carry its provisioning URL.

The MAC prefixes and vendor-class strings are duplicated on purpose from the provisioner's vendor
modules and docs/lan.md, 'DHCP options per vendor' (dhcp_opt66 does not import provisioner
internals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The options the probe and the snippets talk about.
OPTION_NTP = 42
OPTION_TFTP_SERVER_NAME = 66
OPTION_BOOTFILE = 67
OPTION_PROV_160 = 160


@dataclass(frozen=True)
class VendorOption:
    """One option carrying provisioning: its code and its value for a provisioning base URL."""

    code: int
    value: Callable[[str], str]
    force: bool = False  # sent even when the client's parameter request list omits it


@dataclass(frozen=True)
class Vendor:
    name: str
    vendor_classes: tuple[str, ...]  # substrings of option 60 (dnsmasq matches substrings too)
    mac_prefixes: tuple[str, ...]  # OUIs, "00:0b:82"
    options: Callable[[bool], tuple[VendorOption, ...]]  # (option 160 enabled) -> layout


def _base(url: str) -> str:
    return url.rstrip("/")


def _grandstream(with_160: bool) -> tuple[VendorOption, ...]:
    """66 overrides the Config Server Path (P145 default Yes); 160 only where P8337 = 2."""
    options = [VendorOption(OPTION_TFTP_SERVER_NAME, _base)]
    if with_160:
        options.append(VendorOption(OPTION_PROV_160, _base, force=True))
    return tuple(options)


def _panasonic(_with_160: bool) -> tuple[VendorOption, ...]:
    """160 (scheme mandatory) gets ``/{MODEL}.cfg`` appended by the phone; a 66 ending in ``/``
    fetches ``{MODEL}.cfg`` too. 160 wins over 66 on the phone."""
    return (
        VendorOption(OPTION_PROV_160, _base, force=True),
        VendorOption(OPTION_TFTP_SERVER_NAME, lambda u: _base(u) + "/"),
    )


GRANDSTREAM = Vendor(
    name="grandstream",
    # "Grandstream GXP2170 dslforum.org"; the HT80x sends "HT8XX dslforum.org".
    vendor_classes=("Grandstream", "HT8XX"),
    mac_prefixes=("00:0b:82", "c0:74:ad", "ec:74:d7"),
    options=_grandstream,
)
PANASONIC = Vendor(
    name="panasonic",
    vendor_classes=("Panasonic",),
    mac_prefixes=("00:80:f0",),
    options=_panasonic,
)
VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (GRANDSTREAM, PANASONIC)}


def vendor_of(mac: str, vendor_class: str = "") -> Vendor | None:
    """The vendor a DHCP client belongs to, by option 60 first, then by MAC prefix."""
    for vendor in VENDORS.values():
        if any(text in vendor_class for text in vendor.vendor_classes):
            return vendor
    prefix = mac.lower().replace("-", ":")[:8]
    for vendor in VENDORS.values():
        if prefix in vendor.mac_prefixes:
            return vendor
    return None
