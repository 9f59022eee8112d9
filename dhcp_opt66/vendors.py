"""What each phone vendor expects from DHCP, in one table: how to recognise its devices (option 60
substrings, MAC prefixes) and which options carry its provisioning URL.

The MAC prefixes and vendor-class strings come from :mod:`provisioner.vendors.facts`, the one
place the vendor packages read them too: pure data, the only part of the provisioner that
dhcp_opt66 imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from provisioner.vendors import facts

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


def _vendor(name: str, options: Callable[[bool], tuple[VendorOption, ...]]) -> Vendor:
    colon_prefixes = tuple(":".join((oui[:2], oui[2:4], oui[4:])) for oui in facts.OUIS[name])
    return Vendor(name, facts.VENDOR_CLASSES[name], colon_prefixes, options)


GRANDSTREAM = _vendor(facts.GRANDSTREAM, _grandstream)
PANASONIC = _vendor(facts.PANASONIC, _panasonic)
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
