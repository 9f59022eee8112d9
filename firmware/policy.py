"""Which firmware a device should be told to install next: pure functions over small data.

A rollout names a model (optionally narrowed to a tenant, a set of devices or hardware
revisions), a target image and the images a device must pass through on the way. A device is
never offered a jump its next image cannot be installed over: the next step is the lowest
required version above the one it runs. Waves keep a bad image from reaching everybody at
once: a canary set (explicit MACs or a stable percentage) first, then the rest after a pause
or when an operator releases it.

No database, no clock, no sockets here: the provisioner hands in what it knows and renders
what comes out, so every rule can be tested without a server.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from firmware.versions import Version, parse_version


@dataclass(frozen=True)
class Step:
    """One catalog image a rollout uses (copied from the catalog when the rollout is made)."""

    image_id: str
    vendor: str
    version: str
    filename: str
    min_version: str | None = None
    hardware_revisions: tuple[str, ...] = ()

    @cached_property
    def parsed(self) -> Version:
        """Parsed once per step: a decision runs on every config fetch of a rollout's model."""
        return parse_version(self.vendor, self.version)

    @cached_property
    def floor(self) -> Version | None:
        return None if self.min_version is None else parse_version(self.vendor, self.min_version)

    def installs_over(self, current: Version) -> bool:
        return self.floor is None or self.floor <= current

    def fits(self, hardware_revision: str | None) -> bool:
        return not self.hardware_revisions or hardware_revision in self.hardware_revisions


class RolloutState(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"


@dataclass(frozen=True)
class Rollout:
    """A policy for one model; ``steps`` ascend by version and the last one is the target."""

    name: str
    vendor: str
    model: str
    steps: tuple[Step, ...]
    tenant: str | None = None
    devices: frozenset[str] = frozenset()  # MACs; empty: every device of the model
    hardware_revisions: frozenset[str] = frozenset()  # empty: every revision
    canary: frozenset[str] = frozenset()  # MACs in the first wave
    canary_percent: int = 0  # and this share of the others, chosen by a stable hash
    started_at: dt.datetime | None = None
    pause: dt.timedelta | None = None  # None: the rest waits for an operator's release
    released: bool = False  # the operator released the rest
    state: RolloutState = RolloutState.RUNNING
    created_seq: int = 0  # newer rollouts win ties of the same specificity

    @property
    def target(self) -> Step:
        return self.steps[-1]

    @property
    def specificity(self) -> int:
        """Device lists beat tenants, which beat the model as a whole."""
        return 2 if self.devices else 1 if self.tenant else 0

    def covers(self, device: DeviceFacts) -> bool:
        """Is the device in this rollout's scope (model, tenant, devices, hardware revision)?"""
        if (device.vendor, device.model) != (self.vendor, self.model):
            return False
        if self.tenant is not None and device.tenant != self.tenant:
            return False
        if self.devices and device.mac not in self.devices:
            return False
        return not self.hardware_revisions or device.hardware_revision in self.hardware_revisions

    def in_canary(self, mac: str) -> bool:
        """Explicit canaries, or a hash of MAC and rollout below the percentage: the same
        devices stay canaries for the whole rollout, and another rollout picks others."""
        if mac in self.canary:
            return True
        digest = hashlib.sha256(f"{self.name}/{mac}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < self.canary_percent

    def rest_open(self, now: dt.datetime) -> bool:
        if self.released:
            return True
        if self.pause is None or self.started_at is None:
            return False
        return now >= self.started_at + self.pause

    def wave_of(self, mac: str) -> str:
        return "canary" if self.in_canary(mac) else "rest"

    def wave_open(self, mac: str, now: dt.datetime) -> bool:
        return self.rest_open(now) or self.in_canary(mac)


@dataclass(frozen=True)
class DeviceFacts:
    """What the inventory and the device's own fetch say about one device."""

    mac: str
    vendor: str
    model: str
    tenant: str | None = None
    hardware_revision: str | None = None
    version: str | None = None  # as reported (User-Agent of this fetch, else the last one)
    held: bool = False
    pinned: Step | None = None  # an operator's target for this one device


class Status(enum.StrEnum):
    NO_POLICY = "no_policy"  # no rollout covers it and it is not pinned
    UNKNOWN_VERSION = "unknown_version"  # it never said which firmware it runs
    AT_TARGET = "at_target"
    UPGRADING = "upgrading"  # told to install ``offer``
    WAITING = "waiting"  # its wave is not open yet
    PAUSED = "paused"  # the rollout is paused
    HELD = "held"
    BLOCKED = "blocked"  # no required image installs over its version on its hardware


@dataclass(frozen=True)
class Decision:
    status: Status
    offer: Step | None = None  # the only image the device is told about
    target: Step | None = None
    rollout: str | None = None
    reason: str = ""

    @property
    def at_target(self) -> bool:
        return self.status is Status.AT_TARGET


def applicable(rollouts: Iterable[Rollout], device: DeviceFacts) -> Rollout | None:
    """The most specific rollout covering the device (the newest on a tie)."""
    covering = [rollout for rollout in rollouts if rollout.covers(device)]
    if not covering:
        return None
    return max(covering, key=lambda rollout: (rollout.specificity, rollout.created_seq))


def next_step(steps: Iterable[Step], current: Version) -> Step | None:
    """The lowest required version above ``current``; None when nothing is above it."""
    above = sorted((step for step in steps if step.parsed > current), key=lambda step: step.parsed)
    return above[0] if above else None


def decide(rollouts: Iterable[Rollout], device: DeviceFacts, now: dt.datetime) -> Decision:
    """What the device is told: one image to install, or nothing, and why."""
    rollout = applicable(rollouts, device)
    name = rollout.name if rollout else None
    if device.pinned is not None:
        target = device.pinned
        lower = rollout.steps if rollout else ()
        steps = (*(s for s in lower if s.parsed < target.parsed), target)
    elif rollout is not None:
        target, steps = rollout.target, rollout.steps
    else:
        return Decision(Status.NO_POLICY, reason="no rollout covers this device")
    if device.held:
        return Decision(Status.HELD, target=target, rollout=name, reason="held")
    if device.version is None:
        return Decision(Status.UNKNOWN_VERSION, target=target, rollout=name,
                        reason="the device has not reported its firmware")  # fmt: skip
    try:
        current = parse_version(device.vendor, device.version)
    except ValueError as exc:
        return Decision(Status.UNKNOWN_VERSION, target=target, rollout=name, reason=str(exc))
    if current >= target.parsed:
        return Decision(Status.AT_TARGET, target=target, rollout=name)
    if device.pinned is None and rollout is not None:
        if rollout.state is RolloutState.PAUSED:
            return Decision(Status.PAUSED, target=target, rollout=name, reason="rollout paused")
        if not rollout.wave_open(device.mac, now):
            return Decision(Status.WAITING, target=target, rollout=name,
                            reason="its wave has not started")  # fmt: skip
    step = next_step(steps, current)
    if step is None or not step.installs_over(current) or not step.fits(device.hardware_revision):
        why = (
            f"{step.version} needs at least {step.min_version} and fitting hardware"
            if step
            else "no step"
        )
        return Decision(Status.BLOCKED, target=target, rollout=name,
                        reason=f"no path from {device.version}: {why}")  # fmt: skip
    return Decision(Status.UPGRADING, offer=step, target=target, rollout=name)


@dataclass(frozen=True)
class Progress:
    """How far a rollout has come: counts of its devices by status."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def at_target(self) -> int:
        return self.counts.get(Status.AT_TARGET.value, 0)


def summarize(decisions: Iterable[Decision]) -> Progress:
    counts: dict[str, int] = {}
    total = 0
    for decision in decisions:
        counts[decision.status.value] = counts.get(decision.status.value, 0) + 1
        total += 1
    return Progress(total, counts)
