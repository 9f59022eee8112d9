"""Where firmware rollouts stand: a rollout's devices by status (CLI, API), and one device's
path (the staging bench, ``provisioner firmware status``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from firmware.policy import Decision, Progress, Status, applicable, decide, summarize
from provisioner.db.firmware import FirmwareRollout
from provisioner.db.models import Device
from provisioner.domain.firmware.director import covered_devices, device_facts, load_policy
from provisioner.domain.firmware.rollouts import get_rollout


@dataclass(frozen=True)
class RolloutProgress:
    """A rollout with its devices counted by status, and each device's decision."""

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
    for device in sorted(covered_devices(session, mine), key=lambda d: d.mac):
        facts = device_facts(device, policy)
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
    decision = decide(policy.rollouts, device_facts(device, policy), dt.datetime.now(dt.UTC))
    return FirmwareProgress(
        reported=device.firmware_version,
        target=decision.target.version if decision.target else None,
        next_step=decision.offer.version if decision.offer else None,
        at_target=decision.at_target,
        status=decision.status,
    )
