"""Firmware rollouts over the API: progress for everybody, pause/resume/release for staff.

Rollouts are made on the command line (``provisioner firmware rollout create``), where the
catalog lives; the API follows them and steers the waves.
"""

from __future__ import annotations

from collections.abc import Callable

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import OneOf
from sqlalchemy.orm import Session

from provisioner.domain.firmware import progress as firmware_status
from provisioner.domain.firmware import rollouts as firmware
from provisioner.domain.inventory.devices import get_device
from provisioner.web.api.auth import ANY_ROLE, WAREHOUSE, auth
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data

bp = APIBlueprint("firmware_api", __name__, url_prefix=API_PREFIX)


class RolloutDeviceOut(Schema):
    mac = String(required=True)
    status = String(required=True)
    next_step = String(required=True, allow_none=True)
    reason = String(required=True)


class RolloutOut(Schema):
    name = String(required=True)
    model = String(required=True)
    state = String(required=True, validate=OneOf(["running", "paused"]))
    paused_reason = String(required=True, allow_none=True)
    steps = List(String(), required=True, metadata={"description": "Versions, target last."})
    released = Boolean(required=True)


class RolloutProgressOut(RolloutOut):
    total = Integer(required=True)
    at_target = Integer(required=True)
    counts = Dict(keys=String(), values=Integer(), required=True)
    devices = List(Nested(RolloutDeviceOut), required=True)


class DeviceFirmwareOut(Schema):
    reported = String(required=True, allow_none=True)
    target = String(required=True, allow_none=True)
    next_step = String(required=True, allow_none=True)
    at_target = Boolean(required=True)
    status = String(required=True)


def _rollout(row: firmware.FirmwareRollout) -> Data:
    return {
        "name": row.name,
        "model": row.model,
        "state": row.state,
        "paused_reason": row.paused_reason,
        "steps": [str(step["version"]) for step in row.steps],
        "released": row.released,
    }


def _progress(report: firmware_status.RolloutProgress) -> Data:
    return _rollout(report.rollout) | {
        "total": report.progress.total,
        "at_target": report.progress.at_target,
        "counts": report.progress.counts,
        "devices": [
            {
                "mac": mac,
                "status": decision.status.value,
                "next_step": decision.offer.version if decision.offer else None,
                "reason": decision.reason,
            }
            for mac, decision in report.devices
        ],
    }


@bp.get("/firmware/rollouts")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(RolloutOut(many=True))
@bp.doc(responses=[403])
def list_rollouts() -> list[Data]:
    """Every rollout, oldest first."""
    with unit_of_work() as session:
        return [_rollout(row) for row in firmware.list_rollouts(session)]


@bp.get("/firmware/rollouts/<name>")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(RolloutProgressOut)
@bp.doc(responses=[403, 404])
def rollout_progress(name: str) -> Data:
    """A rollout's progress: its devices counted by status, and each device's next step."""
    with unit_of_work() as session:
        return _progress(firmware_status.rollout_progress(session, name))


def _steering(verb: str, action: Callable[[Session, str], None], doc: str) -> None:
    """``POST /firmware/rollouts/<name>/actions/<verb>``, answered with the new progress."""

    def view(name: str) -> Data:
        with unit_of_work() as session:
            action(session, name)
        with unit_of_work() as session:
            return _progress(firmware_status.rollout_progress(session, name))

    view.__name__ = view.__qualname__ = f"{verb}_rollout"
    view.__doc__ = doc
    route = bp.post(f"/firmware/rollouts/<name>/actions/{verb}")
    guarded = bp.auth_required(auth, roles=WAREHOUSE)
    route(guarded(bp.output(RolloutProgressOut)(bp.doc(responses=[403, 404])(view))))


_steering(
    "pause",
    firmware.pause_rollout,
    "Stop offering upgrades: every device of the rollout is told not to upgrade.",
)
_steering(
    "resume",
    firmware.resume_rollout,
    "Offer upgrades again (after a pause by hand or by a failing wave).",
)
_steering("release", firmware.release_rest, "Open the second wave now, whatever the pause.")


@bp.get("/devices/<mac>/firmware")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(DeviceFirmwareOut)
@bp.doc(responses=[403, 404])
def device_firmware(mac: str) -> Data:
    """What the device reported, its target and the one step it is told to install next."""
    with unit_of_work() as session:
        found = firmware_status.firmware_progress(session, get_device(session, mac))
    return {
        "reported": found.reported,
        "target": found.target,
        "next_step": found.next_step,
        "at_target": found.at_target,
        "status": found.status.value,
    }
