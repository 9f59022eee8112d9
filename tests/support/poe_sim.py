"""Simulated PoE switches for the SNMP tests and bench: one model, snmpsim and snmpd data.

A :class:`SimSwitch` is the ground truth (which phone on which port, what is faulty, the
budget); :func:`snmprec` writes it for snmpsim (with the ``poesim`` variation module for the
ports' power state, so that a SET really cuts and restores power) and :func:`snmpd_overrides`
for Net-SNMP snmpd (static; ``pethPsePortAdminEnable`` writable).

Two layouts, so that every join has to be done properly:

* ``cisco``: PSE port (1, n) = ifIndex 10100+n = ``Gi1/0/n`` = bridge port n = LLDP port n,
  watts in cpeExtPsePortPwrConsumption; uplink ``Te1/1/1`` (ifIndex 10201, bridge port 60).
* ``hp``: PSE port (1, n) = ifIndex n = ifName ``n``, bridge port 100+n, LLDP port = bridge
  port, watts in hpicfPoePethPsePortActualPower; uplink ifIndex 1001 (bridge port 200).
* ``tplink``: PSE port (1, n) = ifIndex 49152+n = ``gigabitEthernet 1/0/n`` = bridge port n,
  watts in tpPoePower (0.1 W, indexed by port number), tpPoePortStatus beside the RFC column;
  uplink ``ten-gigabitEthernet 1/0/49``.

``bridge_mib`` puts the forwarding table in BRIDGE-MIB instead of Q-BRIDGE (older switches).

Each phone is seen in the Q-BRIDGE table (voice VLAN) and in LLDP(-MED); the first few have a
PC behind them (a second MAC on the port). One PoE port can feed a downstream switch: many MACs
and an LLDP neighbour that is a bridge, which the join must not take for a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

VOICE_VLAN, DATA_VLAN = 20, 10
PETH_PORT = "1.3.6.1.2.1.105.1.1.1"
PETH_MAIN = "1.3.6.1.2.1.105.1.3.1.1"
CISCO_MW = "1.3.6.1.4.1.9.9.402.1.2.1.9"
HP_MW = "1.3.6.1.4.1.11.2.14.11.1.9.1.1.1.8"
TPLINK_PORT = "1.3.6.1.4.1.11863.6.56.1.1.2.1.1"  # .2 status (1/0), .7 power (0.1 W)
SYS_OIDS = {
    "cisco": "1.3.6.1.4.1.9.1.1208",
    "hp": "1.3.6.1.4.1.11.2.3.7.11.153",
    "tplink": "1.3.6.1.4.1.11863.5.100",
}
T_INT, T_STR, T_HEX, T_OID, T_CNT, T_GAUGE, T_TICKS = "2", "4", "4x", "6", "65", "66", "67"


@dataclass
class SimPort:
    n: int
    detection: int = 2  # searching
    power_class: int = 1  # enum class0(1)..class4(5)
    mw: int = 0
    admin: int = 1
    phone: str | None = None  # MAC, 12 hex
    pc: str | None = None
    downstream: list[str] = field(default_factory=list)  # MACs behind a downstream switch


@dataclass
class SimSwitch:
    name: str
    layout: str  # cisco, hp or tplink
    ports: dict[int, SimPort]
    budget_w: int
    uplink_macs: list[str]
    bridge_mib: bool = False

    @property
    def consumption_w(self) -> int:
        return round(sum(p.mw for p in self.ports.values()) / 1000)

    def ifindex(self, n: int) -> int:
        return {"cisco": 10100 + n, "hp": n, "tplink": 49152 + n}[self.layout]

    def ifname(self, n: int) -> str:
        return {"cisco": f"Gi1/0/{n}", "hp": str(n), "tplink": f"gigabitEthernet 1/0/{n}"}[
            self.layout
        ]

    def base_port(self, n: int) -> int:
        return 100 + n if self.layout == "hp" else n

    @property
    def uplink(self) -> tuple[int, str, int]:
        """(ifIndex, ifName, bridge port) of the non-PoE uplink."""
        return {
            "cisco": (10201, "Te1/1/1", 60),
            "hp": (1001, "Trk1", 200),
            "tplink": (49201, "ten-gigabitEthernet 1/0/49", 60),
        }[self.layout]

    @property
    def phones(self) -> dict[str, int]:
        """Phone MAC -> PSE port number: what the join must find."""
        return {p.phone: n for n, p in self.ports.items() if p.phone}


def phone_mac(switch_no: int, n: int, panasonic: bool = False) -> str:
    oui = "0080f0" if panasonic else "000b82"  # Panasonic, Grandstream
    return f"{oui}{switch_no:02x}{n:04x}"


def build_switch(
    name: str,
    switch_no: int,
    size: int,
    layout: str,
    *,
    bridge_mib: bool = False,
    phones: int,
    budget_w: int,
    faults: tuple[int, ...] = (),
    disabled: tuple[int, ...] = (),
    downstream_port: int | None = None,
    downstream_macs: tuple[str, ...] = (),
    panasonic_every: int = 3,
) -> SimSwitch:
    """Phones on ports 1..``phones`` (every ``panasonic_every``-th a Panasonic); the port
    ``downstream_port`` feeds a desk switch with 20 MACs plus ``downstream_macs`` (say, the
    phones of another switch chained behind it)."""
    ports = {n: SimPort(n) for n in range(1, size + 1)}
    for n in range(1, phones + 1):
        port = ports[n]
        port.phone = phone_mac(switch_no, n, panasonic=n % panasonic_every == 0)
        port.detection, port.power_class, port.mw = 3, 3, 3600 + 40 * n  # class2
        if n <= 4:
            port.pc = f"3c5282{switch_no:02x}{n:04x}"
    for n in faults:
        ports[n].detection, ports[n].mw = 4, 0
    for n in disabled:
        ports[n].admin, ports[n].detection, ports[n].mw = 2, 1, 0
    if downstream_port is not None:
        port = ports[downstream_port]
        port.detection, port.power_class, port.mw = 3, 5, 12000
        port.downstream = [f"02aa{switch_no:02x}00{i:04x}" for i in range(20)]
        port.downstream += downstream_macs
    uplink_macs = [f"00505600{switch_no:02x}{i:02x}" for i in range(30)]
    return SimSwitch(name, layout, ports, budget_w, uplink_macs, bridge_mib)


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def _mac_index(mac: str) -> str:
    return ".".join(str(int(mac[i : i + 2], 16)) for i in range(0, 12, 2))


def records(sim: SimSwitch, dynamic: bool) -> list[tuple[str, str, str]]:
    """(OID, snmprec tag, value) sorted by OID; ``dynamic`` puts the power state in poesim."""
    out: list[tuple[str, str, str]] = []

    def add(oid: str, tag: str, value: object) -> None:
        out.append((oid, tag, str(value)))

    def state(oid: str, tag: str, column: str, port: SimPort, static: object) -> None:
        if not dynamic:
            add(oid, tag, static)
            return
        settings = (
            f"col={column},port={port.n},admin={port.admin},det={port.detection},"
            f"cls={port.power_class},mw={port.mw}"
        )
        out.append((oid, f"{tag}:poesim", settings))

    add("1.3.6.1.2.1.1.1.0", T_STR, f"Simulated {len(sim.ports)}-port PoE switch")
    add("1.3.6.1.2.1.1.2.0", T_OID, SYS_OIDS[sim.layout])
    add("1.3.6.1.2.1.1.3.0", T_TICKS, 123456)
    add("1.3.6.1.2.1.1.5.0", T_STR, sim.name)
    interfaces = [
        (sim.ifindex(n), sim.ifname(n), sim.base_port(n), p) for n, p in sim.ports.items()
    ]
    interfaces.append((*sim.uplink, None))
    for ifindex, name, _bp, port in interfaces:
        add(f"1.3.6.1.2.1.2.2.1.2.{ifindex}", T_STR, name)
        up = port is None or port.detection == 3
        if port is not None:
            state(f"1.3.6.1.2.1.2.2.1.8.{ifindex}", T_INT, "oper", port, 1 if up else 2)
        else:
            add(f"1.3.6.1.2.1.2.2.1.8.{ifindex}", T_INT, 1)
        add(f"1.3.6.1.2.1.31.1.1.1.1.{ifindex}", T_STR, name)
    for ifindex, _name, bp, _port in interfaces:
        add(f"1.3.6.1.2.1.17.1.4.1.2.{bp}", T_INT, ifindex)
    fdb: list[tuple[int, str, int]] = []
    for n, port in sim.ports.items():
        bp = sim.base_port(n)
        if port.phone:
            fdb.append((VOICE_VLAN, port.phone, bp))
        if port.pc:
            fdb.append((DATA_VLAN, port.pc, bp))
        fdb.extend((DATA_VLAN, mac, bp) for mac in port.downstream)
    fdb.extend((DATA_VLAN, mac, sim.uplink[2]) for mac in sim.uplink_macs)
    for vlan, mac, bp in fdb:
        if sim.bridge_mib:
            add(f"1.3.6.1.2.1.17.4.3.1.2.{_mac_index(mac)}", T_INT, bp)
            add(f"1.3.6.1.2.1.17.4.3.1.3.{_mac_index(mac)}", T_INT, 3)
        else:
            add(f"1.3.6.1.2.1.17.7.1.2.2.1.2.{vlan}.{_mac_index(mac)}", T_INT, bp)
            add(f"1.3.6.1.2.1.17.7.1.2.2.1.3.{vlan}.{_mac_index(mac)}", T_INT, 3)
    lldp_port = sim.base_port if sim.layout == "hp" else (lambda n: n)
    for n in sim.ports:
        add(f"1.0.8802.1.1.2.1.3.7.1.2.{lldp_port(n)}", T_INT, 5)
        add(f"1.0.8802.1.1.2.1.3.7.1.3.{lldp_port(n)}", T_STR, sim.ifname(n))
    rem = "1.0.8802.1.1.2.1.4.1.1"
    inventory = "1.0.8802.1.1.2.1.5.4795.1.3.3.1"
    for n, port in sim.ports.items():
        idx = f"{360000 + n}.{lldp_port(n)}.1"
        if port.phone:
            maker = "Panasonic" if port.phone.startswith("0080f0") else "Grandstream"
            add(f"{rem}.4.{idx}", T_INT, 4)
            add(f"{rem}.5.{idx}", T_HEX, port.phone)
            add(f"{rem}.9.{idx}", T_STR, f"phone-{n:02d}")
            add(f"{rem}.12.{idx}", T_HEX, "24")  # bridge + telephone: a phone with a PC port
            add(f"{inventory}.4.{idx}", T_STR, f"SN{n:06d}")
            add(f"{inventory}.5.{idx}", T_STR, maker)
            add(f"{inventory}.6.{idx}", T_STR, "KX-HDV230" if maker == "Panasonic" else "GXP2170")
        elif port.downstream:
            add(f"{rem}.4.{idx}", T_INT, 4)
            add(f"{rem}.5.{idx}", T_HEX, f"02bb{n:08x}")
            add(f"{rem}.9.{idx}", T_STR, "desk-switch")
            add(f"{rem}.12.{idx}", T_HEX, "20")  # bridge
    for n, port in sim.ports.items():
        i = f"1.{n}"
        state(f"{PETH_PORT}.3.{i}", T_INT, "admin", port, port.admin)
        state(f"{PETH_PORT}.6.{i}", T_INT, "det", port, port.detection)
        add(f"{PETH_PORT}.7.{i}", T_INT, 3)
        state(f"{PETH_PORT}.10.{i}", T_INT, "cls", port, port.power_class)
        add(f"{PETH_PORT}.13.{i}", T_CNT, 7 if port.detection == 4 else 0)
    add(f"{PETH_MAIN}.2.1", T_GAUGE, sim.budget_w)
    add(f"{PETH_MAIN}.3.1", T_INT, 1)
    if dynamic:
        out.append((f"{PETH_MAIN}.4.1", f"{T_GAUGE}:poesim", f"col=total,base={sim.consumption_w}"))
    else:
        add(f"{PETH_MAIN}.4.1", T_GAUGE, sim.consumption_w)
    add(f"{PETH_MAIN}.5.1", T_INT, 90)
    if sim.layout == "tplink":  # static only: poesim speaks RFC 3621 values
        for n, port in sim.ports.items():
            add(f"{TPLINK_PORT}.2.{n}", T_INT, 1 if port.admin == 1 else 0)
            add(f"{TPLINK_PORT}.7.{n}", T_INT, port.mw // 100)
    else:
        vendor_mw = CISCO_MW if sim.layout == "cisco" else HP_MW
        for n, port in sim.ports.items():
            state(f"{vendor_mw}.1.{n}", T_GAUGE, "mw", port, port.mw)
    out.sort(key=lambda record: _oid_key(record[0]))
    return out


def write_snmprec(sim: SimSwitch, path: Path, dynamic: bool = True) -> Path:
    lines = [f"{oid}|{tag}|{value}" for oid, tag, value in records(sim, dynamic)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


_SNMPD_TYPES = {T_INT: "integer", T_STR: "octet_str", T_HEX: "octet_str", T_OID: "object_id",
                T_CNT: "counter", T_GAUGE: "uinteger"}  # fmt: skip


def snmpd_overrides(sim: SimSwitch) -> str:
    """snmpd ``override`` lines (static data; AdminEnable writable)."""
    lines = []
    for oid, tag, value in records(sim, dynamic=False):
        if tag == T_TICKS:  # sysUpTime is snmpd's own
            continue
        rw = "-rw " if oid.startswith(f"{PETH_PORT}.3.") else ""
        if tag == T_HEX:
            shown = f"0x{value}"
        elif tag == T_STR:
            shown = '"' + value.replace('"', "'") + '"'
        elif tag == T_OID:
            shown = "." + value
        else:
            shown = value
        lines.append(f"override {rw}.{oid} {_SNMPD_TYPES[tag]} {shown}")
    return "\n".join(lines) + "\n"
