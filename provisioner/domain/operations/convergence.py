"""Fleet convergence: how much of the fleet runs the file it would get now.

Each served fetch of a device's own file is on its timeline with the SHA-256 of the file in
clear. A device is *current* when its newest such fetch has the hash of the file it would get
now (the same variant: from the same kind of network, with the firmware step its reported
version earns), *behind* when it differs, *never fetched* when it has no such fetch. Devices in
stock or retired are not part of the fleet; neither are gateways (they fetch JSON, not a file).

Each device is rendered once per call: a fleet of 50,000 takes about a minute, which is why
``serve`` refreshes the gauges on its maintenance interval rather than per scrape.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, DeviceState, Tenant
from provisioner.domain.delivery.networks import in_networks
from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.delivery.rendering import render_file
from provisioner.domain.inventory.lookup import find_device
from provisioner.domain.timeline import EventKind
from provisioner.vendors import all_models, match_file
from provisioner.vendors.base import FileKind

OUT_OF_FLEET = (DeviceState.IN_STOCK, DeviceState.RETIRED)


class Convergence(enum.StrEnum):
    CURRENT = "current"
    BEHIND = "behind"
    NEVER_FETCHED = "never_fetched"


@dataclass(frozen=True)
class DeviceStatus:
    mac: str
    tenant: str | None
    model: str
    state: Convergence
    fetched_at: dt.datetime | None  # its newest fetch of its own file
    behind_since: dt.datetime | None  # behind: its newest fetch or its last change, the later


@dataclass
class Figures:
    current: int = 0
    behind: int = 0
    never_fetched: int = 0

    def add(self, state: Convergence) -> None:
        setattr(self, state.value, getattr(self, state.value) + 1)

    def as_dict(self) -> dict[str, int]:
        return {state.value: getattr(self, state.value) for state in Convergence}


@dataclass
class FleetConvergence:
    fleet: Figures = field(default_factory=Figures)
    tenants: dict[str, Figures] = field(default_factory=dict)
    models: dict[str, Figures] = field(default_factory=dict)
    behind: list[DeviceStatus] = field(default_factory=list)  # the longest behind first


@dataclass(frozen=True)
class _Fetched:
    at: dt.datetime
    filename: str
    source: str | None
    firmware: str | None
    sha256: str


def convergence(provisioner: Provisioner, tenant: str | None = None) -> FleetConvergence:
    """The figures fleet-wide, per tenant and per model (``tenant``: that tenant's only)."""
    result = FleetConvergence()
    for status in device_statuses(provisioner, tenant):
        result.fleet.add(status.state)
        result.tenants.setdefault(status.tenant or "-", Figures()).add(status.state)
        result.models.setdefault(status.model, Figures()).add(status.state)
        if status.state is Convergence.BEHIND:
            result.behind.append(status)
    result.behind.sort(key=lambda status: status.behind_since or dt.datetime.min)
    return result


def device_statuses(provisioner: Provisioner, tenant: str | None = None) -> Iterator[DeviceStatus]:
    models = {model.model for model in all_models()}
    with provisioner.db.session() as session:
        query = (
            select(
                Device.id, Device.mac, Device.vendor, Device.model, Device.updated_at, Tenant.name
            )
            .outerjoin(Tenant, Tenant.id == Device.tenant_id)
            .where(Device.state.not_in(OUT_OF_FLEET), Device.model.in_(models))
            .order_by(Device.id)
        )
        if tenant is not None:
            query = query.where(Tenant.name == tenant)
        devices = session.execute(query).all()
        fetched = _newest_own_fetches(session, {row.id: row.mac for row in devices})
    for row in devices:
        last = fetched.get(row.id)
        if last is None:
            yield DeviceStatus(row.mac, row.name, row.model, Convergence.NEVER_FETCHED, None, None)
            continue
        now = _current_sha256(provisioner, row.mac, row.vendor, last)
        if now == last.sha256:
            yield DeviceStatus(row.mac, row.name, row.model, Convergence.CURRENT, last.at, None)
        else:
            since = max(last.at, _utc(row.updated_at))
            yield DeviceStatus(row.mac, row.name, row.model, Convergence.BEHIND, last.at, since)


def _newest_own_fetches(session: Session, macs: dict[int, str]) -> dict[int, _Fetched]:
    """Per device, its newest served fetch of its own file (by any of the names its vendor
    accepts for it): the newest per file name from the database, the rest here."""
    newest = (
        select(func.max(DeviceEvent.id))
        .where(
            DeviceEvent.kind == EventKind.FETCH.value,
            DeviceEvent.status == 200,
            DeviceEvent.sha256.is_not(None),
        )
        .group_by(DeviceEvent.device_id, DeviceEvent.filename)
    )
    rows = session.execute(select(DeviceEvent).where(DeviceEvent.id.in_(newest))).scalars()
    found: dict[int, _Fetched] = {}
    for event in rows:
        if event.device_id not in macs or event.filename is None or event.sha256 is None:
            continue
        request = match_file(event.filename)
        if (
            request is None
            or request.kind is not FileKind.DEVICE
            or request.mac != macs[event.device_id]
        ):
            continue
        at = _utc(event.at)
        if event.device_id not in found or found[event.device_id].at < at:
            found[event.device_id] = _Fetched(
                at, event.filename, event.source, event.firmware, event.sha256
            )
    return found


def _current_sha256(provisioner: Provisioner, mac: str, vendor: str, last: _Fetched) -> str | None:
    """The hash of the file this device would get now, in the variant its last fetch got."""
    request = match_file(last.filename)
    if request is None:
        return None
    with provisioner.db.engine.connect() as connection:
        found = find_device(connection, provisioner.box, mac, vendor)
    if found is None:
        return None
    staging = last.source is not None and in_networks(last.source, provisioner.staging)
    offer = provisioner.firmware.offer(found.record, last.firmware)
    plain = render_file(request, found, provisioner.box, provisioner.context, staging, offer)
    return plain.sha256 if plain is not None else None


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
