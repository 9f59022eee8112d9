"""Power-cycle intents: stored before the first SET, finished by whoever holds the lease.

RFC 3621 keeps a port's admin state across switch reboots, so a service that dies between
"off" and "on" would leave the phone dark for good. The intent (``PoeCycle``) is written and
committed before anything is sent; the process that works on it holds a short lease and renews
it; a lease that ran out means that process died, and the next poller takes the cycle over and
finishes it from the state it reached (a repeated SET of the same value does no harm).

Every step is on the device's timeline when the port has a known device.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import platform
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.db.poe import PoeCycle, PoeLocation, PoePort, PoeSwitch
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.timeline import EventKind


class CycleState(enum.StrEnum):
    """Where a power-cycle is (``PoeCycle.state``); a cycle moves down this list."""

    REQUESTED = "requested"  # stored, nothing sent yet
    OFF = "off"  # power cut; on again after ``off_seconds``
    ON = "on"  # power restored; watching the port draw power again
    DONE = "done"
    FAILED = "failed"


ACTIVE = (CycleState.REQUESTED, CycleState.OFF, CycleState.ON)  # not finished: someone works on it
MIN_OFF, MAX_OFF, DEFAULT_OFF = 2, 120, 5  # seconds; a phone's capacitors need 2-5 s
LEASE = dt.timedelta(seconds=10)


def lease_owner() -> str:
    """This process, as a lease names it."""
    return f"{platform.node()}:{os.getpid()}"[:64]


def find_port(switch: PoeSwitch, name: str) -> PoePort:
    """A port by ifName (``Gi1/0/5``), by ``GROUP/INDEX`` or by index alone (``5``)."""
    for port in switch.ports:
        if name in (port.name, f"{port.group}/{port.index}"):
            return port
    by_index = [p for p in switch.ports if name.isdigit() and p.index == int(name)]
    if len(by_index) == 1:
        return by_index[0]
    if not switch.ports:
        raise NotFound(f"{switch.name} has not been polled yet: poll it first")
    raise NotFound(f"{switch.name} has no PoE port {name!r}")


def port_of_device(session: Session, mac: str) -> PoePort:
    device = session.scalar(select(Device).where(Device.mac == mac))
    if device is None:
        raise NotFound(f"no device {mac} in the inventory")
    location = session.get(PoeLocation, device.id)
    if location is None:
        raise NotFound(f"device {mac} has not been seen on any polled PoE switch")
    return location.port


def request_cycle(
    session: Session,
    port: PoePort,
    actor: str,
    off_seconds: int = DEFAULT_OFF,
    owner: str | None = None,
) -> PoeCycle:
    """Record the intent. ``owner``: the caller works on it itself and holds the lease from the
    start (else the service's poller takes it)."""
    if not MIN_OFF <= off_seconds <= MAX_OFF:
        raise Invalid(f"off time must be {MIN_OFF}-{MAX_OFF} seconds")
    if port.uplink:
        raise Conflict(
            f"{port.label} is an uplink (it feeds other devices): cycle the device's own port"
        )
    running = session.scalar(
        select(PoeCycle.id).where(
            PoeCycle.switch_id == port.switch_id,
            PoeCycle.group == port.group,
            PoeCycle.index == port.index,
            PoeCycle.state.in_(ACTIVE),
        )
    )
    if running is not None:
        raise Conflict(f"{port.label} is being power-cycled already (cycle {running})")
    cycle = PoeCycle(
        switch_id=port.switch_id,
        group=port.group,
        index=port.index,
        port_name=port.name,
        device_id=port.device_id,
        actor=actor,
        state=CycleState.REQUESTED,
        off_seconds=off_seconds,
        lease_owner=owner,
        lease_until=utcnow() + LEASE if owner else None,
    )
    session.add(cycle)
    session.flush()
    _event(session, cycle, f"power-cycle {cycle.id} of {port.label} requested", actor)
    return cycle


def claim(session: Session, cycle_id: int, owner: str, now: dt.datetime | None = None) -> bool:
    """Take or renew the lease; False when another live process holds it."""
    now = now or utcnow()
    taken = session.execute(
        update(PoeCycle)
        .where(
            PoeCycle.id == cycle_id,
            PoeCycle.state.in_(ACTIVE),
            or_(
                PoeCycle.lease_owner.is_(None),
                PoeCycle.lease_owner == owner,
                PoeCycle.lease_until < now,
            ),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
    )
    return cast(CursorResult[Any], taken).rowcount == 1  # an UPDATE: a cursor result


def advance(session: Session, cycle: PoeCycle, state: CycleState, detail: str) -> None:
    now = utcnow()
    cycle.state = state
    cycle.detail = detail
    if state == CycleState.OFF:
        cycle.off_at = now
    elif state == CycleState.ON:
        cycle.on_at = now
    else:
        cycle.finished_at = now
        cycle.lease_owner = cycle.lease_until = None
    _event(session, cycle, f"power-cycle {cycle.id} of {cycle.switch.name} "
                           f"{cycle.port_name}: {detail}", cycle.actor)  # fmt: skip


def open_cycles(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Cycles nobody live is working on: new ones and those of a process that died."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(PoeCycle.id)
            .where(
                PoeCycle.state.in_(ACTIVE),
                or_(PoeCycle.lease_until.is_(None), PoeCycle.lease_until < now),
            )
            .order_by(PoeCycle.id)
        )
    )


def recent_cycles(session: Session, limit: int = 20) -> list[PoeCycle]:
    return list(session.scalars(select(PoeCycle).order_by(PoeCycle.id.desc()).limit(limit)))


def get_cycle(session: Session, cycle_id: int) -> PoeCycle:
    cycle = session.get(PoeCycle, cycle_id) if 0 < cycle_id < 2**31 else None
    if cycle is None:
        raise NotFound(f"no power-cycle {cycle_id}")
    return cycle


def fetched_since(session: Session, cycle: PoeCycle) -> dt.datetime | None:
    """The device's first fetch after power came back: the end of "watch it come back"."""
    if cycle.device_id is None or cycle.on_at is None:
        return None
    return session.scalar(
        select(DeviceEvent.at)
        .where(
            DeviceEvent.device_id == cycle.device_id,
            DeviceEvent.kind == EventKind.FETCH,
            DeviceEvent.at >= cycle.on_at,
        )
        .order_by(DeviceEvent.at)
        .limit(1)
    )


def _event(session: Session, cycle: PoeCycle, detail: str, actor: str) -> None:
    if cycle.device_id is not None:
        session.add(
            DeviceEvent(device_id=cycle.device_id, kind=EventKind.POE, actor=actor, detail=detail)
        )
