"""What one poll of a PoE switch found, as plain data (the SNMP front door fills it in).

Values are already in the domain's units and vocabulary: milliwatts, class 0-4, RFC 3621's
detection names, MACs as 12 lower-case hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass

DELIVERING = "deliveringPower"
FAULTS = frozenset({"fault", "otherFault"})
DETECTIONS = ("disabled", "searching", DELIVERING, "fault", "test", "otherFault")


@dataclass(frozen=True)
class Neighbour:
    """An LLDP (and LLDP-MED) neighbour on a port."""

    chassis_mac: str | None  # when the chassis ID is a MAC
    sysname: str
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    bridge: bool = False  # advertises bridge or router and not telephone: another switch


@dataclass(frozen=True)
class PortReading:
    group: int
    index: int
    ifindex: int | None
    name: str
    admin_enabled: bool
    detection: str
    power_class: int | None  # 0..4, only while delivering
    power_mw: int | None  # None when the switch has no per-port power column
    link_up: bool | None
    macs: tuple[str, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()

    @property
    def delivering(self) -> bool:
        return self.detection == DELIVERING


@dataclass(frozen=True)
class PseReading:
    """One power source (RFC 3621 pethMainPseEntry): whole watts, as the MIB has them."""

    group: int
    budget_w: int | None
    consumption_w: int | None
    status: str  # on, off, faulty

    @property
    def usage(self) -> float | None:
        if not self.budget_w or self.consumption_w is None:
            return None
        return self.consumption_w / self.budget_w


@dataclass(frozen=True)
class SwitchReading:
    ports: tuple[PortReading, ...]
    pse: tuple[PseReading, ...]
    seconds: float  # how long the poll took
    varbinds: int  # how many values it read
