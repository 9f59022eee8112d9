"""Per-vendor PoE differences, one profile per vendor and nothing vendor-specific elsewhere.

RFC 3621 gives every vendor the same port and PSE tables but no per-port watts and no mapping
from a PSE port ``(group, index)`` to an ifIndex (``docs/poe.md``, 'Main points'). A
profile says which column has the watts and in which unit and index, how a PSE port finds its
interface, and which column switches power; a switch's ``port_map`` overrides the mapping.
OIDs were checked with snmptranslate against the vendors' MIBs (docs/poe.md, 'OIDs').
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PETH_ADMIN = "1.3.6.1.2.1.105.1.1.1.3"  # pethPsePortAdminEnable, true(1)/false(2), read-write


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    enterprise: str | None  # sysObjectID prefix that picks this profile in "auto"
    power_column: str | None  # per-port power, None: only the RFC (no per-port watts)
    power_mw_per_unit: int = 1  # 1: the column is in mW; 100: in 0.1 W
    power_by_port_number: bool = False  # indexed by port number, not "group.index"
    mapping: str = "name"  # name: "Gi1/0/5" is group 1 index 5; ifindex: index == ifIndex
    admin_column: str = PETH_ADMIN
    admin_by_port_number: bool = False
    admin_on: int = 1
    admin_off: int = 2

    def power_mw(self, raw: int | None) -> int | None:
        return None if raw is None else raw * self.power_mw_per_unit

    def power_index(self, group: int, index: int) -> tuple[int, ...]:
        return (index,) if self.power_by_port_number else (group, index)

    def admin_oid(self, group: int, index: int) -> str:
        suffix = f"{index}" if self.admin_by_port_number else f"{group}.{index}"
        return f"{self.admin_column}.{suffix}"

    def ifindex(
        self, group: int, index: int, names: Mapping[int, str], overrides: Mapping[str, int]
    ) -> int | None:
        """The interface of PSE port (group, index): an override, else the profile's rule."""
        if f"{group}.{index}" in overrides:
            return overrides[f"{group}.{index}"]
        if self.mapping == "ifindex":
            return index if index in names else None
        return _by_name(group, index, names)


# "Gi1/0/5", "GigabitEthernet1/0/5", "1/1/5" (Aruba-CX member/slot/port), "ge-0/0/5": the
# first number is the stack member (the PSE group), the last the port. Ten-gig uplinks have
# no PSE port, so a "Te1/1/1" never stands for group 1 index 1.
_NAME = re.compile(r"(?i)^(?!te|tw|fo|hu)\D*(\d+)/(?:\d+/)?(\d+)$")


def _by_name(group: int, index: int, names: Mapping[int, str]) -> int | None:
    found = [
        ifindex
        for ifindex, name in names.items()
        if (match := _NAME.match(name)) and (int(match[1]), int(match[2])) == (group, index)
    ]
    return found[0] if len(found) == 1 else None


GENERIC = Profile(
    "generic",
    "RFC 3621 only (no per-port watts); PSE index is the ifIndex when no name matches",
    enterprise=None,
    power_column=None,
)
CISCO = Profile(
    "cisco",
    "Cisco IOS/IOS-XE: cpeExtPsePortPwrConsumption (mW), ports by name (Gi<member>/0/<port>)",
    enterprise="1.3.6.1.4.1.9.",
    power_column="1.3.6.1.4.1.9.9.402.1.2.1.9",
)
HP = Profile(
    "hp",
    "HP ProCurve / ArubaOS-Switch: hpicfPoePethPsePortActualPower (mW), PSE index = ifIndex",
    enterprise="1.3.6.1.4.1.11.",
    power_column="1.3.6.1.4.1.11.2.14.11.1.9.1.1.1.8",
    mapping="ifindex",
)
ARUBA_CX = Profile(
    "aruba-cx",
    "Aruba CX: arubaWiredPoePethPsePortPowerDrawn (mW), ports by name (<member>/1/<port>)",
    enterprise="1.3.6.1.4.1.47196.",
    power_column="1.3.6.1.4.1.47196.4.1.1.3.8.1.1.1.7",
)
NETGEAR = Profile(
    "netgear",
    "Netgear managed (FASTPATH): agentPethOutputPower (mW), PSE index = ifIndex",
    enterprise="1.3.6.1.4.1.4526.",
    power_column="1.3.6.1.4.1.4526.10.15.1.1.1.2",
    mapping="ifindex",
)
TPLINK = Profile(
    "tplink",
    "TP-Link JetStream: tpPoePower (0.1 W, by port number), power by tpPoePortStatus 1/0, "
    "ports by name (gigabitEthernet <unit>/0/<port>; ifIndex is 49152+n)",
    enterprise="1.3.6.1.4.1.11863.",
    power_column="1.3.6.1.4.1.11863.6.56.1.1.2.1.1.7",
    power_mw_per_unit=100,
    power_by_port_number=True,
    admin_column="1.3.6.1.4.1.11863.6.56.1.1.2.1.1.2",
    admin_by_port_number=True,
    admin_on=1,
    admin_off=0,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (CISCO, HP, ARUBA_CX, NETGEAR, TPLINK, GENERIC)}
AUTO = "auto"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown vendor profile {name!r}; use one of: {known}") from None


def profile_for(sys_object_id: str | None) -> Profile:
    """The profile whose enterprise the sysObjectID is under, else the generic one.

    Probing vendor columns blindly is not an option: TP-Link switches stop answering for a
    while after requests for objects they do not have (docs/poe.md, 'Vendor quirks').
    """
    for candidate in PROFILES.values():
        if candidate.enterprise and (sys_object_id or "").startswith(candidate.enterprise):
            return candidate
    return GENERIC
