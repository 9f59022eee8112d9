"""Firmware rollouts as operators change them (CLI, API): create, pause, resume, release and
delete rollouts, and hold or pin single devices.

Each change bumps the inventory revision, so rendered files and the director's snapshot
(:mod:`provisioner.domain.firmware.director`) follow.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from firmware.catalog import Catalog, Image
from firmware.policy import RolloutState, Step
from firmware.versions import parse_version
from firmware.watch import DEFAULT_FAILURE_PERCENT, DEFAULT_LOOP_LIMIT
from provisioner.db.firmware import FirmwareDevice, FirmwareDownloadCount, FirmwareRollout
from provisioner.db.models import Device, utcnow
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.devices import check_model, get_device
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.inventory.tenants import tenant_id_named

_ROLLOUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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


def step_json(step: Step) -> dict[str, object]:
    """A step as a rollout row or a pin stores it (JSON)."""
    return {
        "image_id": step.image_id,
        "vendor": step.vendor,
        "version": step.version,
        "filename": step.filename,
        "min_version": step.min_version,
        "hardware_revisions": list(step.hardware_revisions),
    }


def step_from_json(data: dict[str, object]) -> Step:
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
    tenant_id = None if spec.tenant is None else tenant_id_named(session, spec.tenant)
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
        steps=[step_json(step) for step in steps],
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
    names += [f"pin of {mac}" for mac, pinned in pins if pinned and pinned["image_id"] == image_id]
    return names


def device_state(session: Session, device: Device) -> FirmwareDevice:
    """The device's hold and pin row, created on first use."""
    state = session.get(FirmwareDevice, device.id)
    if state is None:
        state = FirmwareDevice(device_id=device.id, held=False)
        session.add(state)
    return state


def hold(session: Session, mac: str, reason: str = "held by an operator") -> Device:
    device = get_device(session, mac)
    hold_device(session, device, reason)
    return device


def hold_device(session: Session, device: Device, reason: str) -> None:
    """No image is offered to the device until it is unheld (an operator's or a loop's hold)."""
    state = device_state(session, device)
    state.held, state.hold_reason = True, reason


def unhold(session: Session, mac: str) -> Device:
    """Release a hold; the loop counter starts again from zero."""
    device = get_device(session, mac)
    state = device_state(session, device)
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
    device_state(session, device).pinned = step_json(_step(image))
    return device


def unpin(session: Session, mac: str) -> Device:
    device = get_device(session, mac)
    device_state(session, device).pinned = None
    return device
