"""A poll's reading into the inventory: ports, which device is on which port, and moves.

A device is on a port when its MAC is in the port's forwarding entries or is the chassis ID of
its LLDP neighbour. Uplinks are skipped: they carry every MAC behind them, including phones on
other switches. A port is an uplink when the switch says so (``uplinks``), when it carries more
MACs than a phone with a PC behind it and a small hub could, or when its LLDP neighbour is a
bridge or router that is not a telephone (phones with a PC port advertise bridge too).

Each device's last port is kept (``PoeLocation``), so a move, a return and a disappearance
("went dark") become events on the device's timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.db.poe import PoeLocation, PoePort, PoeSwitch
from provisioner.domain.poe.readings import PortReading, SwitchReading
from provisioner.domain.timeline import EventKind

UPLINK_MACS = 8
ACTOR = "poe poller"


@dataclass(frozen=True)
class Move:
    mac: str
    detail: str


def is_uplink(switch: PoeSwitch, reading: PortReading) -> bool:
    return (
        reading.name in switch.uplinks
        or len(reading.macs) > UPLINK_MACS
        or any(neighbour.bridge for neighbour in reading.neighbours)
    )


def record_reading(
    session: Session, switch: PoeSwitch, reading: SwitchReading, now: dt.datetime | None = None
) -> list[Move]:
    """Store the reading; returns the devices that appeared, moved or went dark."""
    now = now or utcnow()
    ports = _store_ports(session, switch, reading, now)
    seen = _devices_seen(session, ports)
    moves: list[Move] = []
    on_port = {port.id: device.id for device, port in seen.values()}
    for port in ports:
        port.device_id = on_port.get(port.id)
    known = {
        location.device_id: location
        for location in session.scalars(
            select(PoeLocation).where(PoeLocation.device_id.in_(on_port.values()))
        )
    }
    for device, port in sorted(seen.values(), key=lambda pair: (pair[1].group, pair[1].index)):
        move = _locate(session, device, port, known.get(device.id), now)
        if move is not None:
            moves.append(move)
    moves.extend(_gone_dark(session, switch, {device.id for device, _ in seen.values()}))
    switch.pse = [
        {"group": p.group, "budget_w": p.budget_w, "consumption_w": p.consumption_w,
         "status": p.status}
        for p in reading.pse
    ]  # fmt: skip
    switch.last_poll_at = switch.last_ok_at = now
    switch.last_error = None
    return moves


def record_failure(switch: PoeSwitch, error: str, now: dt.datetime | None = None) -> None:
    switch.last_poll_at = now or utcnow()
    switch.last_error = error[:500]


def _store_ports(
    session: Session, switch: PoeSwitch, reading: SwitchReading, now: dt.datetime
) -> list[PoePort]:
    """Ports as read; ``updated_at`` is when a port last changed (so is its row)."""
    existing = {(port.group, port.index): port for port in switch.ports}
    kept = []
    for found in reading.ports:
        port = existing.pop((found.group, found.index), None)
        if port is None:
            port = PoePort(switch=switch, group=found.group, index=found.index)
            session.add(port)
        port.ifindex = found.ifindex
        port.name = found.name
        port.admin_enabled = found.admin_enabled
        port.detection = found.detection
        port.power_class = found.power_class
        port.power_mw = found.power_mw
        port.link_up = found.link_up
        port.uplink = is_uplink(switch, found)
        port.macs = list(found.macs)
        port.neighbours = [
            {"sysname": n.sysname, "manufacturer": n.manufacturer, "model": n.model,
             "serial": n.serial, "chassis_mac": n.chassis_mac or ""}
            for n in found.neighbours
        ]  # fmt: skip
        if port not in session.new and session.is_modified(port):
            port.updated_at = now
        kept.append(port)
    for gone in existing.values():  # a module taken out of the stack
        switch.ports.remove(gone)
    session.flush()
    return kept


def _devices_seen(session: Session, ports: list[PoePort]) -> dict[str, tuple[Device, PoePort]]:
    """MAC -> (device, port) for inventory devices on non-uplink ports."""
    by_mac: dict[str, PoePort] = {}
    for port in ports:
        if port.uplink:
            continue
        for mac in port.macs:
            by_mac.setdefault(mac, port)
        for neighbour in port.neighbours:
            if neighbour["chassis_mac"]:
                by_mac[neighbour["chassis_mac"]] = port  # LLDP beats a stale FDB entry
    if not by_mac:
        return {}
    devices = session.scalars(select(Device).where(Device.mac.in_(by_mac)))
    return {device.mac: (device, by_mac[device.mac]) for device in devices}


def _event(session: Session, device: Device, detail: str) -> None:
    session.add(DeviceEvent(device=device, kind=EventKind.POE, actor=ACTOR, detail=detail))


def _locate(
    session: Session,
    device: Device,
    port: PoePort,
    location: PoeLocation | None,
    now: dt.datetime,
) -> Move | None:
    label = port.label
    if location is None:
        session.add(PoeLocation(device=device, port=port, present=True, last_seen_at=now))
        detail = f"seen on {label}"
    elif location.port_id != port.id:
        detail = f"moved from {location.port.label} to {label}"
        location.port = port
    elif not location.present:
        detail = f"back on {label}"
    else:
        detail = None
    if location is not None:
        location.present = True
        location.last_seen_at = now
    if detail is None:
        return None
    _event(session, device, detail)
    return Move(device.mac, detail)


def _gone_dark(session: Session, switch: PoeSwitch, seen_ids: set[int]) -> list[Move]:
    moves = []
    located = session.scalars(
        select(PoeLocation)
        .join(PoePort, PoePort.id == PoeLocation.port_id)
        .where(PoePort.switch_id == switch.id, PoeLocation.present.is_(True))
    )
    for location in located:
        if location.device_id in seen_ids:
            continue
        location.present = False
        detail = f"no longer seen on {location.port.label}"
        _event(session, location.device, detail)
        moves.append(Move(location.device.mac, detail))
    return moves
