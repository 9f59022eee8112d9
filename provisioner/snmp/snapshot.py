"""One poll of a switch: walk the PoE, interface, forwarding and LLDP tables, join them.

The tables are walked as four multi-column GETBULK streams at once (PoE, interfaces,
forwarding, LLDP), which costs a 48-port switch about a dozen round trips. Joins:

* PSE port -> ifIndex: the vendor profile (or the switch's overrides);
* forwarding entry -> bridge port -> ifIndex (``dot1dBasePortIfIndex``); Q-BRIDGE first,
  BRIDGE-MIB when a switch has no Q-BRIDGE table;
* LLDP local port -> ifIndex: its ``lldpLocPortId`` as an ifName, else the bridge port, else
  the number itself (vendors differ; docs/poe.md, 'Joins').
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping

from provisioner.domain.poe.readings import (
    DETECTIONS,
    Neighbour,
    PortReading,
    PseReading,
    SwitchReading,
)
from provisioner.snmp.client import Agent, SnmpClient, Table, Value
from provisioner.snmp.errors import SnmpError
from provisioner.snmp.profiles import Profile

PETH_PORT = "1.3.6.1.2.1.105.1.1.1"
PETH_ADMIN, PETH_DETECTION, PETH_CLASS = (f"{PETH_PORT}.{c}" for c in (3, 6, 10))
PETH_MAIN = "1.3.6.1.2.1.105.1.3.1.1"
PSE_POWER, PSE_STATUS, PSE_CONSUMPTION = (f"{PETH_MAIN}.{c}" for c in (2, 3, 4))
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"
DOT1Q_FDB_PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2"  # index fdbId.mac(6), value bridge port
DOT1D_FDB_PORT = "1.3.6.1.2.1.17.4.3.1.2"  # index mac(6), value bridge port
LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"  # index timeMark.localPortNum.remIndex
LLDP_CHASSIS_SUBTYPE, LLDP_CHASSIS, LLDP_SYSNAME, LLDP_CAPS = (
    f"{LLDP_REM}.{c}" for c in (4, 5, 9, 12)
)
MED_INVENTORY = "1.0.8802.1.1.2.1.5.4795.1.3.3.1"
MED_SERIAL, MED_MANUFACTURER, MED_MODEL = (f"{MED_INVENTORY}.{c}" for c in (4, 5, 6))

PSE_STATUSES = {1: "on", 2: "off", 3: "faulty"}
DELIVERING_POWER = 3  # pethPsePortDetectionStatus deliveringPower(3)
CHASSIS_MAC = 4  # lldpRemChassisIdSubtype macAddress(4)
# LldpSystemCapabilitiesMap BITS, bit 0 the first octet's high bit.
CAP_BRIDGE, CAP_ROUTER, CAP_TELEPHONE = 2, 4, 5


def column_groups(profile: Profile) -> list[list[str]]:
    """The columns one poll walks, as the streams walked side by side."""
    poe = [PETH_ADMIN, PETH_DETECTION, PETH_CLASS, PSE_POWER, PSE_STATUS, PSE_CONSUMPTION]
    if profile.power_column:
        poe.append(profile.power_column)
    lldp = [LLDP_LOC_PORT_ID, LLDP_CHASSIS_SUBTYPE, LLDP_CHASSIS, LLDP_SYSNAME, LLDP_CAPS]
    lldp += [MED_SERIAL, MED_MANUFACTURER, MED_MODEL]
    return [poe, [IF_NAME, IF_OPER], [BASE_PORT_IFINDEX, DOT1Q_FDB_PORT], lldp]


async def read_switch(
    client: SnmpClient, agent: Agent, profile: Profile, port_map: Mapping[str, int]
) -> SwitchReading:
    started = time.perf_counter()
    groups = column_groups(profile)
    streams = await asyncio.gather(*(client.walk(agent, columns) for columns in groups))
    tables: dict[str, Table] = {k: v for stream in streams for k, v in stream.items()}
    if not tables[DOT1Q_FDB_PORT]:
        tables.update(await client.walk(agent, [DOT1D_FDB_PORT]))
    varbinds = sum(len(table) for table in tables.values())
    try:
        return assemble(tables, profile, port_map, time.perf_counter() - started, varbinds)
    except (TypeError, ValueError, KeyError) as exc:  # an agent's tables are outside input
        raise SnmpError(f"{agent}: tables that do not fit together ({exc!r})") from exc


def assemble(
    tables: Mapping[str, Table],
    profile: Profile,
    port_map: Mapping[str, int],
    seconds: float,
    varbinds: int,
) -> SwitchReading:
    """The walked tables (column OID -> index -> value) as one reading."""
    names = {index[0]: _text(value) for index, value in tables[IF_NAME].items()}
    oper = {index[0]: value for index, value in tables[IF_OPER].items()}
    base_ports = {index[0]: value for index, value in tables[BASE_PORT_IFINDEX].items()}
    macs = _macs_by_ifindex(tables, base_ports)
    neighbours = _neighbours_by_ifindex(tables, names, base_ports)
    power = tables.get(profile.power_column or "", {})
    ports = []
    entries = sorted((key, admin) for key, admin in tables[PETH_ADMIN].items() if len(key) == 2)
    for (group, index), admin in entries:
        ifindex = profile.ifindex(group, index, names, port_map)
        detection = tables[PETH_DETECTION].get((group, index))
        power_class = tables[PETH_CLASS].get((group, index))
        if detection != DELIVERING_POWER or not isinstance(power_class, int):
            power_class = None  # the class is valid only while delivering (RFC 3621)
        raw_power = power.get(profile.power_index(group, index))
        ports.append(
            PortReading(
                group=group,
                index=index,
                ifindex=ifindex,
                name=names.get(ifindex, f"{group}/{index}") if ifindex else f"{group}/{index}",
                admin_enabled=admin == 1,
                detection=_enum(DETECTIONS, detection),
                power_class=None if power_class is None else power_class - 1,
                power_mw=profile.power_mw(raw_power) if isinstance(raw_power, int) else None,
                link_up=_link_up(oper, ifindex),
                macs=tuple(sorted(macs.get(ifindex, ()))) if ifindex is not None else (),
                neighbours=tuple(neighbours.get(ifindex, ())) if ifindex is not None else (),
            )
        )
    pse = [
        PseReading(
            group=group,
            budget_w=_int(budget),
            consumption_w=_int(tables[PSE_CONSUMPTION].get((group,))),
            status=PSE_STATUSES.get(_int(tables[PSE_STATUS].get((group,))) or 0, "unknown"),
        )
        for (group,), budget in sorted(
            (key, value) for key, value in tables[PSE_POWER].items() if len(key) == 1
        )
    ]
    return SwitchReading(tuple(ports), tuple(pse), seconds, varbinds)


def _link_up(oper: Mapping[int, Value], ifindex: int | None) -> bool | None:
    """IF-MIB's ifOperStatus up(1), or unknown for a port the agent maps to no interface."""
    status = None if ifindex is None else oper.get(ifindex)
    return None if status is None else status == 1


def _macs_by_ifindex(
    tables: Mapping[str, Table], base_ports: dict[int, Value]
) -> dict[int, set[str]]:
    fdb = tables[DOT1Q_FDB_PORT] or tables.get(DOT1D_FDB_PORT, {})
    found: dict[int, set[str]] = defaultdict(set)
    for index, base_port in fdb.items():
        ifindex = base_ports.get(base_port) if isinstance(base_port, int) else None
        if isinstance(ifindex, int) and len(index) >= 6:
            found[ifindex].add(bytes(index[-6:]).hex())
    return found


def _neighbours_by_ifindex(
    tables: Mapping[str, Table], names: dict[int, str], base_ports: dict[int, Value]
) -> dict[int, list[Neighbour]]:
    by_name = {name: ifindex for ifindex, name in names.items()}
    local = {index[0]: _text(value) for index, value in tables[LLDP_LOC_PORT_ID].items()}
    found: dict[int, list[Neighbour]] = defaultdict(list)
    for key, sysname in sorted(tables[LLDP_SYSNAME].items()):
        if len(key) != 3:
            continue
        local_port = key[1]
        ifindex = by_name.get(local.get(local_port, "")) or base_ports.get(local_port)
        if not isinstance(ifindex, int):
            ifindex = local_port
        chassis = tables[LLDP_CHASSIS].get(key)
        is_mac = tables[LLDP_CHASSIS_SUBTYPE].get(key) == CHASSIS_MAC
        caps = _bits(tables[LLDP_CAPS].get(key))
        found[ifindex].append(
            Neighbour(
                chassis_mac=chassis.hex() if is_mac and isinstance(chassis, bytes) else None,
                sysname=_text(sysname),
                manufacturer=_text(tables[MED_MANUFACTURER].get(key)),
                model=_text(tables[MED_MODEL].get(key)),
                serial=_text(tables[MED_SERIAL].get(key)),
                bridge=bool(caps & {CAP_BRIDGE, CAP_ROUTER}) and CAP_TELEPHONE not in caps,
            )
        )
    return found


def _bits(value: Value) -> set[int]:
    if not isinstance(value, bytes):
        return set()
    return {n for n in range(len(value) * 8) if value[n // 8] & (0x80 >> (n % 8))}


def _text(value: Value) -> str:
    """Agents send any bytes: keep what a table and a log line can show."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = "" if value is None else str(value)
    return "".join(ch for ch in text if ch.isprintable())[:64]


def _int(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def _enum(names: tuple[str, ...], value: Value) -> str:
    if isinstance(value, int) and 1 <= value <= len(names):
        return names[value - 1]
    return "unknown"
