"""The warehouse bench as the staging page shows it: every bound or staged device with its
progress.

A device on the bench moves through: DHCP lease (the bench DHCP's lease events, timeline kind
``dhcp``) -> config fetched (its own file, status 200, from a staging network, after it was
bound) -> firmware at target -> registered on the PBX core -> staged -> shipped (a click).

What other parts know (firmware targets, registrations, PoE ports, alerts) comes from
:data:`FACT_PROVIDERS`: each provider maps device ids to :class:`BenchFacts`, None meaning
"not known". Staging itself is :mod:`provisioner.domain.staging.auto_stage`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from provisioner.db.models import Device, DeviceEvent, DeviceLine, DeviceState
from provisioner.domain.delivery.pipeline import Network, in_networks
from provisioner.domain.firmware.progress import firmware_progress
from provisioner.domain.poe.status import bench_poe
from provisioner.domain.registrations.status import all_cores, bench_registered, device_lines
from provisioner.domain.staging.leases import LeaseAction
from provisioner.domain.timeline import Event, EventKind
from provisioner.vendors import match_file
from provisioner.vendors.base import FileKind

BENCH_STATES = (DeviceState.BOUND, DeviceState.STAGED)
# The timeline entries a bench row is read from: lease, binding, and the config fetch.
BENCH_EVENTS = (EventKind.DHCP, EventKind.FETCH, EventKind.STATE, EventKind.IMPORT)
BENCH_LIMIT = 200  # the newest bench devices shown; a bench holds a few dozen


@dataclass(frozen=True)
class BenchFacts:
    """What another part knows of a device; None: not known (shown as a dash)."""

    firmware_target: str | None = None
    registered: bool | None = None
    poe_port: str | None = None
    alerts: tuple[str, ...] | None = None


FactsProvider = Callable[[Session, Sequence[Device]], Mapping[int, BenchFacts]]


def firmware_facts(session: Session, devices: Sequence[Device]) -> dict[int, BenchFacts]:
    """The target of the device's rollout, where one applies (firmware at target or not)."""
    found = {}
    for device in devices:
        target = firmware_progress(session, device).target
        if target is not None:
            found[device.id] = BenchFacts(firmware_target=target)
    return found


def poe_facts(session: Session, devices: Sequence[Device]) -> dict[int, BenchFacts]:
    """The switch port each device was seen on by the PoE poller, and its PoE alerts."""
    by_mac = {device.mac: device.id for device in devices}
    found = {}
    for mac, facts in bench_poe(session, list(by_mac)).items():
        where = facts.label if facts.present else f"({facts.label})"  # not seen in the last poll
        watts = "" if facts.power_w is None else f", {facts.power_w} W"
        cell = f"{where}, {facts.detection}{watts}"
        found[by_mac[mac]] = BenchFacts(poe_port=cell, alerts=facts.alerts)
    return found


# What the other parts know; later providers' known facts win over earlier ones'. Registration
# on the PBX core comes from domain/registrations (bench_rows: it needs the fetch time).
FACT_PROVIDERS: list[FactsProvider] = [firmware_facts, poe_facts]


@dataclass(frozen=True)
class Lease:
    address: str | None
    action: str  # a LeaseAction's value, as the detail stores it
    at: dt.datetime

    @property
    def held(self) -> bool:
        """False once dnsmasq said the lease was released or expired."""
        return self.action != LeaseAction.DEL


@dataclass(frozen=True)
class BenchLine:
    port: int
    extension: str
    display_name: str


@dataclass(frozen=True)
class BenchRow:
    mac: str
    vendor: str
    model: str
    state: DeviceState
    tenant: str | None
    lines: tuple[BenchLine, ...]
    bound_at: dt.datetime | None
    lease: Lease | None
    config_fetched_at: dt.datetime | None
    firmware: str | None  # as the device last reported it
    firmware_target: str | None = None
    registered: bool | None = None
    poe_port: str | None = None
    alerts: tuple[str, ...] | None = None

    @property
    def firmware_at_target(self) -> bool | None:
        if self.firmware_target is None:
            return None
        return self.firmware == self.firmware_target

    @property
    def ready_to_stage(self) -> bool:
        """Config fetched on the bench after binding, firmware at target where known, and every
        line registered from the bench after that fetch where the core can be read."""
        return (
            self.state is DeviceState.BOUND
            and self.config_fetched_at is not None
            and self.firmware_at_target is not False
            and self.registered is not False
        )


def bench_devices(
    session: Session,
    device_ids: Iterable[int] | None = None,
    states: Sequence[DeviceState] = BENCH_STATES,
    lock: bool = False,
) -> list[Device]:
    """Bound and staged devices, newest change first (the newest, or those named)."""
    query = (
        select(Device)
        .where(Device.state.in_(states))
        .options(
            joinedload(Device.tenant),
            selectinload(Device.lines).joinedload(DeviceLine.account),
        )
        .order_by(Device.updated_at.desc(), Device.id.desc())
    )
    if device_ids is not None:
        query = query.where(Device.id.in_(list(device_ids)))
    else:
        query = query.limit(BENCH_LIMIT)
    if lock:
        # Two workers staging the same device: the second waits and then finds it staged.
        query = query.with_for_update(of=Device)
    return list(session.scalars(query).unique())


def bench_rows(
    session: Session, staging: Sequence[Network], devices: Sequence[Device]
) -> list[BenchRow]:
    """The progress of each device, from its timeline and the fact providers."""
    events = _events_by_device(session, [device.id for device in devices])
    facts = _facts(session, devices)
    cores = all_cores(session)
    rows = []
    for device in devices:
        row = _row(device, events.get(device.id, []), staging)
        known = facts.get(device.id, BenchFacts())
        registered = bench_registered(
            device_lines(session, device, cores),
            row.config_fetched_at,
            lambda source: in_networks(source, staging),
        )
        rows.append(
            replace(
                row,
                firmware_target=known.firmware_target,
                registered=registered if known.registered is None else known.registered,
                poe_port=known.poe_port,
                alerts=known.alerts,
            )
        )
    return rows


def _row(device: Device, events: list[DeviceEvent], staging: Sequence[Network]) -> BenchRow:
    bound_at = None
    lease = None
    fetched_at = None
    for event in events:  # oldest first
        if _is_binding(event):
            bound_at, fetched_at = event.at, None
        elif event.kind == EventKind.DHCP:
            action, _, _ = (event.detail or "").partition(" ")
            lease = Lease(event.source, action or LeaseAction.ADD, event.at)
        elif bound_at is not None and _own_file_on_bench(device, event, staging):
            fetched_at = event.at
    return BenchRow(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        state=device.state,
        tenant=device.tenant.name if device.tenant else None,
        lines=tuple(
            BenchLine(line.port, line.account.extension, line.account.display_name)
            for line in device.lines
        ),
        bound_at=bound_at,
        lease=lease,
        config_fetched_at=fetched_at,
        firmware=device.firmware_version,
    )


def _is_binding(event: DeviceEvent) -> bool:
    """A bind (state change to bound) or a sheet import, which binds too."""
    if event.kind == EventKind.IMPORT:
        return True
    return event.kind == EventKind.STATE and "-> bound" in (event.detail or "")


def served_on_bench(event: Event | DeviceEvent, staging: Sequence[Network]) -> bool:
    """A file served (status 200) to an address of a staging network."""
    if event.kind != EventKind.FETCH or event.status != 200 or not event.source:
        return False
    return in_networks(event.source, staging)


def never_fetched_on_bench(
    session: Session, device: Device, staging: Sequence[Network]
) -> str | None:
    """Why staging or shipping ``device`` by hand would leave it without credentials on site
    (it never fetched its own file on the bench since it was bound), else None."""
    events = _events_by_device(session, [device.id]).get(device.id, [])
    if _row(device, events, staging).config_fetched_at is not None:
        return None
    return (
        f"device {device.mac} has not fetched its own file on the bench since it was bound: "
        "it would reach the customer without its provisioning credentials. Power it on the "
        "bench first (it is staged by itself), or re-enrol it on site once installed"
    )


def registered_on_bench(event: Event, staging: Sequence[Network]) -> bool:
    """A line registered from an address of a staging network (source ``IP:PORT``)."""
    if event.kind != EventKind.REGISTRATION or not event.source:
        return False
    return in_networks(event.source.rsplit(":", 1)[0].strip("[]"), staging)


def _own_file_on_bench(device: Device, event: DeviceEvent, staging: Sequence[Network]) -> bool:
    if not served_on_bench(event, staging):
        return False
    request = match_file(event.filename or "")
    return request is not None and request.kind is FileKind.DEVICE and request.mac == device.mac


def _events_by_device(session: Session, device_ids: list[int]) -> dict[int, list[DeviceEvent]]:
    if not device_ids:
        return {}
    found: dict[int, list[DeviceEvent]] = {}
    query = (
        select(DeviceEvent)
        .where(
            DeviceEvent.device_id.in_(device_ids),
            DeviceEvent.kind.in_(BENCH_EVENTS),
        )
        .order_by(DeviceEvent.at, DeviceEvent.id)
    )
    for event in session.scalars(query):
        found.setdefault(event.device_id, []).append(event)
    return found


def _facts(session: Session, devices: Sequence[Device]) -> dict[int, BenchFacts]:
    merged: dict[int, BenchFacts] = {}
    for provider in FACT_PROVIDERS:
        for device_id, facts in provider(session, devices).items():
            known = {k: v for k, v in vars(facts).items() if v is not None}
            merged[device_id] = replace(merged.get(device_id, BenchFacts()), **known)
    return merged
