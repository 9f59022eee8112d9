"""The firmware policy as the fetch hot path sees it: what one device is told.

:class:`FirmwareDirector` keeps a snapshot of every rollout and every held or pinned device,
loaded once per inventory revision, and makes a pure decision on the version the fetch reports
(no query per fetch). The snapshot also serves the watcher and the progress reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from firmware.policy import DeviceFacts, Rollout, RolloutState, Step, decide
from provisioner.db.firmware import FirmwareDevice, FirmwareRollout
from provisioner.db.models import Device, DeviceState, Tenant, utcnow
from provisioner.db.session import Database
from provisioner.domain.delivery.render_cache import RenderCache, any_change
from provisioner.domain.firmware.rollouts import step_from_json
from provisioner.domain.inventory.lookup import DeviceRecord
from provisioner.domain.timeline import Event, EventKind, TimelineWriter
from provisioner.vendors import parse_user_agent
from provisioner.vendors.base import FirmwareOffer


@dataclass(frozen=True)
class PolicySnapshot:
    """The stored policy in memory: decided on without a query per fetch."""

    rollouts: tuple[Rollout, ...] = ()
    held: frozenset[str] = frozenset()  # MACs
    pinned: dict[str, Step] = field(default_factory=dict)

    @property
    def models(self) -> frozenset[tuple[str, str]]:
        return frozenset((rollout.vendor, rollout.model) for rollout in self.rollouts)


def _policy(row: FirmwareRollout, tenant: str | None, seq: int) -> Rollout:
    pause = None if row.pause_seconds is None else dt.timedelta(seconds=row.pause_seconds)
    return Rollout(
        name=row.name,
        vendor=row.vendor,
        model=row.model,
        steps=tuple(step_from_json(step) for step in row.steps),
        tenant=tenant,
        devices=frozenset(row.devices),
        hardware_revisions=frozenset(row.hardware_revisions),
        canary=frozenset(row.canary),
        canary_percent=row.canary_percent,
        started_at=_aware(row.started_at),
        pause=pause,
        released=row.released,
        state=RolloutState(row.state),
        created_seq=seq,
    )


def _aware(at: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def load_policy(session: Session) -> PolicySnapshot:
    """Every rollout, oldest first, and every held or pinned device."""
    rows = session.execute(
        select(FirmwareRollout, Tenant.name)
        .outerjoin(Tenant, Tenant.id == FirmwareRollout.tenant_id)
        .order_by(FirmwareRollout.id)
    ).all()
    rollouts = tuple(_policy(row, tenant, row.id) for row, tenant in rows)
    states = session.execute(
        select(Device.mac, FirmwareDevice.held, FirmwareDevice.pinned)
        .join(Device, Device.id == FirmwareDevice.device_id)
        .where(or_(FirmwareDevice.held.is_(True), FirmwareDevice.pinned.is_not(None)))
    ).all()
    held = frozenset(mac for mac, is_held, _ in states if is_held)
    pinned = {mac: step_from_json(step) for mac, _, step in states if step is not None}
    return PolicySnapshot(rollouts, held, pinned)


def device_facts(device: Device, policy: PolicySnapshot) -> DeviceFacts:
    """What the policy decides on for a stored device (its last reported version)."""
    return DeviceFacts(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        tenant=device.tenant.name if device.tenant else None,
        hardware_revision=device.hardware_revision,
        version=device.firmware_version,
        held=device.mac in policy.held,
        pinned=policy.pinned.get(device.mac),
    )


class FirmwareDirector:
    """What a fetching device is told, and the record of its image downloads."""

    def __init__(
        self, db: Database, timeline: TimelineWriter | None, check_interval: float = 1.0
    ) -> None:
        self._db = db
        self._timeline = timeline
        self._policy: RenderCache[PolicySnapshot] = RenderCache(
            any_change(db.revision), check_interval
        )

    def snapshot(self) -> PolicySnapshot:
        policy = self._policy.get("policy")
        if policy is None:
            revision = self._policy.revision
            with self._db.session() as session:
                policy = load_policy(session)
            self._policy.put("policy", policy, revision)
        return policy

    def offer(self, found: DeviceRecord, reported: str | None) -> FirmwareOffer | None:
        """The one image this fetch's file names, from the version the fetch reports (else
        the one the device reported last); None: the file says "do not upgrade"."""
        policy = self.snapshot()
        model = (found.model.vendor, found.model.model)
        if model not in policy.models and found.mac not in policy.pinned:
            return None  # the common case in a boot storm: no rollout for this model
        facts = DeviceFacts(
            mac=found.mac,
            vendor=found.model.vendor,
            model=found.model.model,
            tenant=found.tenant,
            hardware_revision=found.hardware_revision,
            version=reported or found.firmware_version,
            held=found.mac in policy.held,
            pinned=policy.pinned.get(found.mac),
        )
        decision = decide(policy.rollouts, facts, dt.datetime.now(dt.UTC))
        if decision.offer is None:
            return None
        return FirmwareOffer(decision.offer.version, decision.offer.filename)

    def downloaded(self, filename: str, protocol: str, source: str, user_agent: str | None) -> None:
        """A whole download of a catalog image, for loop detection (written in batches)."""
        agent = parse_user_agent(user_agent) if user_agent else None
        if self._timeline is None or agent is None or agent.mac is None:
            return  # nothing names the device (TFTP, a browser): it cannot be followed
        self._timeline.record(
            Event(mac=agent.mac, kind=EventKind.DOWNLOAD, at=utcnow(), protocol=protocol,
                  filename=filename, source=source, user_agent=user_agent,
                  firmware=agent.firmware, status=200)
        )  # fmt: skip


def covered_devices(session: Session, rollout: Rollout) -> list[Device]:
    """The inventory's devices in the rollout's scope (retired ones are gone)."""
    query = select(Device).where(
        Device.vendor == rollout.vendor,
        Device.model == rollout.model,
        Device.state != DeviceState.RETIRED,
    )
    if rollout.devices:
        query = query.where(Device.mac.in_(rollout.devices))
    devices = session.scalars(query).all()
    policy = PolicySnapshot((rollout,))
    return [device for device in devices if rollout.covers(device_facts(device, policy))]
