"""Follows firmware image downloads, off the request path: a device that downloads the same
image again and again is held and an alert is put on its timeline; a wave in which too many
devices loop pauses its rollout.

:class:`FirmwareWatcher` is an observer of the timeline writer: it sees each written batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from firmware.policy import Rollout, RolloutState, applicable
from firmware.watch import DEFAULT_LOOP_LIMIT, DownloadCount, count_download, wave_failing
from provisioner.db.firmware import FirmwareDevice, FirmwareDownloadCount, FirmwareRollout
from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.db.session import Database
from provisioner.domain.firmware.director import covered_devices, device_facts, load_policy
from provisioner.domain.firmware.rollouts import get_rollout, hold_device, pause_rollout
from provisioner.domain.timeline import Event, EventKind

log = logging.getLogger("provisioner.firmware")

LOOP_HOLD_PREFIX = "firmware loop"  # how firmware.watch words a loop's hold reason


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
        rollout = applicable(policy.rollouts, device_facts(device, policy))
        row = get_rollout(session, rollout.name) if rollout else None
        limit = row.loop_limit if row else DEFAULT_LOOP_LIMIT
        previous = DownloadCount(stored.image, stored.version, stored.downloads)
        count, looping = count_download(previous, image, event.firmware, limit)
        stored.image, stored.version, stored.downloads = count.image, count.version, count.downloads
        if looping is None or device.mac in policy.held:
            return
        hold_device(session, device, looping.reason)
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
            device
            for device in covered_devices(session, rollout)
            if rollout.wave_of(device.mac) == wave
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
            pause_rollout(session, row.name, reason)
            log.warning("rollout %s paused itself: %s", row.name, reason)


def _locked_count(session: Session, device_id: int) -> FirmwareDownloadCount:
    """The device's count row, created empty if missing, locked until the commit."""
    table = cast(Table, FirmwareDownloadCount.__table__)
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
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
