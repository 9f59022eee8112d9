"""Firmware rollouts in the inventory: the rules of ``firmware.policy`` over stored state.

Three parts, one per caller:
- operators (CLI, API) create, pause, resume, release and delete rollouts, and hold or pin
  single devices; each change bumps the inventory revision, so rendered files follow;
- the fetch hot path asks :class:`FirmwareDirector` what one device is told: a snapshot of
  every rollout and every held or pinned device, loaded once per revision, and a pure
  decision on the version the fetch reports (no query per fetch);
- :class:`FirmwareWatcher` reads image downloads from the timeline writer's batches, off the
  request path, holds looping devices, raises alerts and pauses failing waves.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from firmware.catalog import Catalog, Image
from firmware.policy import (
    Decision,
    DeviceFacts,
    Progress,
    Rollout,
    RolloutState,
    Status,
    Step,
    applicable,
    decide,
    summarize,
)
from firmware.versions import parse_version
from firmware.watch import (
    DEFAULT_FAILURE_PERCENT,
    DEFAULT_LOOP_LIMIT,
    DownloadCount,
    count_download,
    wave_failing,
)
from provisioner.db.firmware import FirmwareDevice, FirmwareDownloadCount, FirmwareRollout
from provisioner.db.models import Device, DeviceEvent, DeviceState, Tenant, utcnow
from provisioner.db.session import Database
from provisioner.domain.delivery.render_cache import RenderCache
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.devices import check_model, get_device
from provisioner.domain.inventory.lookup import FoundDevice
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.timeline import Event, EventKind, TimelineWriter
from provisioner.vendors import parse_user_agent
from provisioner.vendors.base import FirmwareOffer

log = logging.getLogger("provisioner.firmware")

_ROLLOUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LOOP_HOLD_PREFIX = "firmware loop"


# --- operator changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutSpec:
    """A rollout as an operator asks for it; versions are resolved against the catalog."""

    name: str
    model: str
    target: str
    via: tuple[str, ...] = ()  # required intermediate versions
    tenant: str | None = None
    devices: tuple[str, ...] = ()
    hardware_revisions: tuple[str, ...] = ()
    canary: tuple[str, ...] = ()
    canary_percent: int = 0
    pause_seconds: int | None = None  # None: the rest starts by command
    loop_limit: int = DEFAULT_LOOP_LIMIT
    failure_percent: int = DEFAULT_FAILURE_PERCENT


def _step(image: Image) -> Step:
    return Step(image.id, image.vendor, image.version, image.filename, image.min_version,
                image.hardware_revisions)  # fmt: skip


def _step_json(step: Step) -> dict[str, object]:
    return {
        "image_id": step.image_id,
        "vendor": step.vendor,
        "version": step.version,
        "filename": step.filename,
        "min_version": step.min_version,
        "hardware_revisions": list(step.hardware_revisions),
    }


def _step_from(data: dict[str, object]) -> Step:
    revisions = data.get("hardware_revisions") or []
    return Step(
        image_id=str(data["image_id"]),
        vendor=str(data["vendor"]),
        version=str(data["version"]),
        filename=str(data["filename"]),
        min_version=None if data.get("min_version") is None else str(data["min_version"]),
        hardware_revisions=tuple(str(r) for r in revisions),  # type: ignore[attr-defined]
    )


def find_image(catalog: Catalog, vendor: str, model: str, version: str) -> Image:
    """The catalog image of this model at this version (numerically: 1.133 == 01.133)."""
    try:
        wanted = parse_version(vendor, version)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    for image in catalog.list_images():
        if (
            image.vendor == vendor
            and model in image.models
            and parse_version(vendor, image.version) == wanted
        ):
            return image
    raise Invalid(
        f"no {vendor} image for {model} at version {version} in the catalog; "
        "import it first (provisioner firmware import)"
    )


def _macs(texts: Iterable[str], what: str) -> list[str]:
    try:
        return sorted({normalize_mac(text) for text in texts})
    except BadMac as exc:
        raise Invalid(f"{what}: {exc}") from exc


def _percent(value: int, what: str) -> int:
    if not 0 <= value <= 100:
        raise Invalid(f"{what} must be 0 to 100, not {value}")
    return value


def _checked_steps(images: list[Image], revisions: Sequence[str]) -> list[Step]:
    """Ascending; each step installable over the one before it and on every targeted revision."""
    steps = sorted((_step(image) for image in images), key=lambda step: step.parsed)
    for before, after in itertools.pairwise(steps):
        if before.parsed == after.parsed:
            raise Invalid(f"version {after.version} is given twice")
        if not after.installs_over(before.parsed):
            raise Invalid(
                f"{after.version} installs only over {after.min_version} or later, but the step "
                f"before it is {before.version}: add the missing version with --via"
            )
    for step in steps:
        for revision in revisions:
            if not step.fits(revision):
                raise Invalid(
                    f"image {step.version} does not fit hardware revision {revision} "
                    f"(it fits {', '.join(step.hardware_revisions)})"
                )
    return steps


def create_rollout(session: Session, catalog: Catalog, spec: RolloutSpec) -> FirmwareRollout:
    """A running rollout; the canary wave starts now."""
    if not _ROLLOUT_NAME.fullmatch(spec.name):
        raise Invalid("a rollout name is 1-64 letters, digits, '.', '_' or '-'")
    if session.scalar(select(FirmwareRollout.id).where(FirmwareRollout.name == spec.name)):
        raise Conflict(f"a rollout named {spec.name} exists; pick another name or delete it")
    model = check_model(spec.model)
    images = [
        find_image(catalog, model.vendor, model.model, version)
        for version in (*spec.via, spec.target)
    ]
    steps = _checked_steps(images, spec.hardware_revisions)
    if steps[-1].version != images[-1].version:
        raise Invalid(f"the target {spec.target} must be above every --via version")
    tenant_id = None
    if spec.tenant is not None:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == spec.tenant))
        if tenant_id is None:
            raise NotFound(f"no tenant {spec.tenant!r}")
    if spec.pause_seconds is not None and spec.pause_seconds < 0:
        raise Invalid("the pause before the rest of the devices cannot be negative")
    if spec.loop_limit < 2:
        raise Invalid("the loop limit is at least 2 downloads (one retry is normal)")
    rollout = FirmwareRollout(
        name=spec.name,
        vendor=model.vendor,
        model=model.model,
        tenant_id=tenant_id,
        devices=_macs(spec.devices, "--device"),
        hardware_revisions=sorted(set(spec.hardware_revisions)),
        steps=[_step_json(step) for step in steps],
        canary=_macs(spec.canary, "--canary"),
        canary_percent=_percent(spec.canary_percent, "the canary percentage"),
        pause_seconds=spec.pause_seconds,
        released=False,
        state=RolloutState.RUNNING.value,
        loop_limit=spec.loop_limit,
        failure_percent=_percent(spec.failure_percent, "the failure threshold"),
        started_at=utcnow(),
    )
    session.add(rollout)
    session.flush()
    return rollout


def get_rollout(session: Session, name: str) -> FirmwareRollout:
    rollout = session.scalar(select(FirmwareRollout).where(FirmwareRollout.name == name))
    if rollout is None:
        raise NotFound(f"no rollout named {name!r}")
    return rollout


def list_rollouts(session: Session) -> list[FirmwareRollout]:
    return list(session.scalars(select(FirmwareRollout).order_by(FirmwareRollout.id)))


def pause_rollout(session: Session, name: str, reason: str = "paused by an operator") -> None:
    rollout = get_rollout(session, name)
    rollout.state, rollout.paused_reason = RolloutState.PAUSED.value, reason


def resume_rollout(session: Session, name: str) -> None:
    rollout = get_rollout(session, name)
    rollout.state, rollout.paused_reason = RolloutState.RUNNING.value, None


def release_rest(session: Session, name: str) -> None:
    """Open the second wave now (whatever the pause)."""
    get_rollout(session, name).released = True


def delete_rollout(session: Session, name: str) -> None:
    session.delete(get_rollout(session, name))


def rollouts_using(session: Session, image_id: str) -> list[str]:
    """Rollouts (and pins) that name an image: it must stay in the catalog while they do."""
    names = [
        rollout.name
        for rollout in list_rollouts(session)
        if any(step["image_id"] == image_id for step in rollout.steps)
    ]
    pins = session.execute(
        select(Device.mac, FirmwareDevice.pinned)
        .join(Device, Device.id == FirmwareDevice.device_id)
        .where(FirmwareDevice.pinned.is_not(None))
    )
    names += [f"pin of {mac}" for mac, pinned in pins if pinned["image_id"] == image_id]
    return names


def _device_state(session: Session, device: Device) -> FirmwareDevice:
    state = session.get(FirmwareDevice, device.id)
    if state is None:
        state = FirmwareDevice(device_id=device.id, held=False)
        session.add(state)
    return state


def hold(session: Session, mac: str, reason: str = "held by an operator") -> Device:
    device = get_device(session, mac)
    state = _device_state(session, device)
    state.held, state.hold_reason = True, reason
    return device


def unhold(session: Session, mac: str) -> Device:
    """Release a hold; the loop counter starts again from zero."""
    device = get_device(session, mac)
    state = _device_state(session, device)
    state.held, state.hold_reason = False, None
    count = session.get(FirmwareDownloadCount, device.id)
    if count is not None:
        session.delete(count)
    return device


def pin(session: Session, catalog: Catalog, mac: str, version: str) -> Device:
    """This device's target is ``version`` (through its rollout's lower steps), waves aside."""
    device = get_device(session, mac)
    image = find_image(catalog, device.vendor, device.model, version)
    if not _step(image).fits(device.hardware_revision):
        raise Invalid(f"image {image.version} does not fit hardware {device.hardware_revision}")
    _device_state(session, device).pinned = _step_json(_step(image))
    return device


def unpin(session: Session, mac: str) -> Device:
    device = get_device(session, mac)
    _device_state(session, device).pinned = None
    return device


# --- the policy as the hot path sees it ----------------------------------------------------


@dataclass(frozen=True)
class PolicySnapshot:
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
        steps=tuple(_step_from(step) for step in row.steps),
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
    pinned = {mac: _step_from(step) for mac, _, step in states if step is not None}
    return PolicySnapshot(rollouts, held, pinned)


def _facts(device: Device, tenant: str | None, policy: PolicySnapshot) -> DeviceFacts:
    return DeviceFacts(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        tenant=tenant,
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
        self._policy: RenderCache[PolicySnapshot] = RenderCache(db.revision, check_interval)

    def snapshot(self) -> PolicySnapshot:
        policy = self._policy.get("policy")
        if policy is None:
            revision = self._policy.revision
            with self._db.session() as session:
                policy = load_policy(session)
            self._policy.put("policy", policy, revision)
        return policy

    def offer(self, found: FoundDevice, reported: str | None) -> FirmwareOffer | None:
        """The one image this fetch's file names, from the version the fetch reports (else
        the one the device reported last); None: the file says "do not upgrade"."""
        policy = self.snapshot()
        view = found.view
        model = (view.model.vendor, view.model.model)
        if model not in policy.models and view.mac not in policy.pinned:
            return None  # the common case in a boot storm: no rollout for this model
        facts = DeviceFacts(
            mac=view.mac,
            vendor=view.model.vendor,
            model=view.model.model,
            tenant=view.tenant,
            hardware_revision=found.hardware_revision,
            version=reported or found.firmware_version,
            held=view.mac in policy.held,
            pinned=policy.pinned.get(view.mac),
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
            Event(mac=agent.mac, kind=EventKind.DOWNLOAD, protocol=protocol, filename=filename,
                  source=source, user_agent=user_agent, firmware=agent.firmware, status=200)
        )  # fmt: skip


# --- watching --------------------------------------------------------------------------------


class FirmwareWatcher:
    """Called by the timeline writer with each batch it wrote: follows image downloads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __call__(self, written: Sequence[tuple[int, Event]]) -> None:
        for _, event in written:
            if event.kind == EventKind.DOWNLOAD and event.filename is not None:
                with self._db.session() as session:  # one short write transaction each
                    self._one(session, event, event.filename)

    def _one(self, session: Session, event: Event, image: str) -> None:
        device = session.scalar(select(Device).where(Device.mac == event.mac))
        if device is None:
            return
        # Every HTTP worker watches its own downloads: the count row is locked (on SQLite,
        # the write lock is taken) before it is read, so two workers never both count from
        # the same value.
        stored = _locked_count(session, device.id)
        policy = load_policy(session)
        tenant = device.tenant.name if device.tenant else None
        rollout = applicable(policy.rollouts, _facts(device, tenant, policy))
        row = get_rollout(session, rollout.name) if rollout else None
        limit = row.loop_limit if row else DEFAULT_LOOP_LIMIT
        previous = DownloadCount(stored.image, stored.version, stored.downloads)
        count, looping = count_download(previous, image, event.firmware, limit)
        stored.image, stored.version, stored.downloads = count.image, count.version, count.downloads
        if looping is None or device.mac in policy.held:
            return
        state = _device_state(session, device)
        state.held, state.hold_reason = True, looping.reason
        _alert(session, device, looping.reason)
        session.flush()
        if rollout is not None and row is not None and row.state == RolloutState.RUNNING.value:
            self._check_wave(session, row, rollout, device.mac)

    def _check_wave(
        self, session: Session, row: FirmwareRollout, rollout: Rollout, mac: str
    ) -> None:
        """Pause the rollout when too many devices of the failing device's wave loop."""
        wave = rollout.wave_of(mac)
        members = [
            device for device in _covered(session, rollout) if rollout.wave_of(device.mac) == wave
        ]
        ids = [device.id for device in members]
        failures = session.scalar(
            select(func.count())
            .select_from(FirmwareDevice)
            .where(FirmwareDevice.device_id.in_(ids), FirmwareDevice.held.is_(True),
                   FirmwareDevice.hold_reason.startswith(LOOP_HOLD_PREFIX))
        )  # fmt: skip
        if wave_failing(len(members), failures or 0, row.failure_percent):
            reason = (
                f"wave {wave}: {failures} of {len(members)} devices loop "
                f"(threshold {row.failure_percent}%)"
            )
            row.state, row.paused_reason = RolloutState.PAUSED.value, reason
            log.warning("rollout %s paused itself: %s", row.name, reason)


def _locked_count(session: Session, device_id: int) -> FirmwareDownloadCount:
    """The device's count row, created empty if missing, locked until the commit."""
    table = FirmwareDownloadCount.__table__
    dialect_insert = (
        postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    )
    session.execute(
        dialect_insert(table)
        .values(device_id=device_id, image="", version=None, downloads=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["device_id"])
    )
    session.execute(update(table).where(table.c.device_id == device_id).values(updated_at=utcnow()))
    stored = session.get(FirmwareDownloadCount, device_id, populate_existing=True)
    assert stored is not None  # inserted above, and locked
    return stored


def _alert(session: Session, device: Device, reason: str) -> None:
    log.warning("device %s held: %s", device.mac, reason)
    session.add(DeviceEvent(device_id=device.id, kind=EventKind.ALERT, actor="firmware watcher",
                            detail=reason))  # fmt: skip


def _covered(session: Session, rollout: Rollout) -> list[Device]:
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
    return [
        device
        for device in devices
        if rollout.covers(_facts(device, device.tenant.name if device.tenant else None, policy))
    ]


# --- progress --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutProgress:
    rollout: FirmwareRollout
    progress: Progress
    devices: list[tuple[str, Decision]]  # (mac, decision), by MAC


def rollout_progress(session: Session, name: str) -> RolloutProgress:
    """Every covered device's status; the ones a more specific rollout owns are left out."""
    row = get_rollout(session, name)
    policy = load_policy(session)
    mine = next(rollout for rollout in policy.rollouts if rollout.name == name)
    now = dt.datetime.now(dt.UTC)
    decisions = []
    for device in sorted(_covered(session, mine), key=lambda d: d.mac):
        facts = _facts(device, device.tenant.name if device.tenant else None, policy)
        if applicable(policy.rollouts, facts) is not mine:
            continue
        decisions.append((device.mac, decide(policy.rollouts, facts, now)))
    return RolloutProgress(row, summarize(d for _, d in decisions), decisions)


@dataclass(frozen=True)
class FirmwareProgress:
    """One device on its path, as the staging bench shows it."""

    reported: str | None
    target: str | None
    next_step: str | None
    at_target: bool
    status: Status


def firmware_progress(session: Session, device: Device) -> FirmwareProgress:
    """For the bench view: what the device runs, where it is headed and what comes next."""
    policy = load_policy(session)
    tenant = device.tenant.name if device.tenant else None
    decision = decide(policy.rollouts, _facts(device, tenant, policy), dt.datetime.now(dt.UTC))
    return FirmwareProgress(
        reported=device.firmware_version,
        target=decision.target.version if decision.target else None,
        next_step=decision.offer.version if decision.offer else None,
        at_target=decision.at_target,
        status=decision.status,
    )
