"""Automatic staging: a bound device whose config was fetched on the bench (and whose
firmware is at target, where a rollout applies, and whose lines all registered from the bench
after that fetch, where the PBX core can be read) is staged.

:func:`promote_staged` runs both from the bench page and from the timeline writer after each
batch (:class:`BenchStager`), so a device is staged even when nobody looks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceState
from provisioner.db.session import Database
from provisioner.domain.delivery.pipeline import Network
from provisioner.domain.inventory import lifecycle
from provisioner.domain.staging.bench_view import (
    BenchRow,
    bench_devices,
    bench_rows,
    registered_on_bench,
    served_on_bench,
)
from provisioner.domain.timeline import Event
from provisioner.secretbox import SecretBox

log = logging.getLogger(__name__)

STAGER_ACTOR = "bench: config fetched on the bench"


def promote_staged(
    session: Session,
    box: SecretBox,
    staging: Sequence[Network],
    device_ids: Iterable[int] | None = None,
) -> list[str]:
    """Stage every bound device whose conditions hold; the MACs staged.

    Devices staged already are not even loaded: a boot storm from a staging network (the
    benchmark's loopback) costs one query per batch once its devices are staged.
    """
    devices = bench_devices(session, device_ids, states=(DeviceState.BOUND,), lock=True)
    rows = _stage_ready(session, box, devices, bench_rows(session, staging, devices))
    return [row.mac for row in rows if row.state is DeviceState.STAGED]


def refresh_bench(session: Session, box: SecretBox, staging: Sequence[Network]) -> list[BenchRow]:
    """The bench as the page shows it, after staging what is ready (one pass over the rows)."""
    devices = bench_devices(session)
    return _stage_ready(session, box, devices, bench_rows(session, staging, devices))


def _stage_ready(
    session: Session, box: SecretBox, devices: Sequence[Device], rows: list[BenchRow]
) -> list[BenchRow]:
    result = []
    for device, row in zip(devices, rows, strict=True):
        if row.ready_to_stage:
            lifecycle.apply(session, box, device, lifecycle.Action.STAGE, STAGER_ACTOR)
            row = replace(row, state=device.state)
        result.append(row)
    session.flush()
    return result


class BenchStager:
    """The timeline writer's after-write hook: stages devices that just fetched on the bench.

    Only a successful fetch from a staging network can stage a device, so a boot storm of
    installed devices at customers' sites costs a filter in memory and no query.
    """

    def __init__(self, db: Database, box: SecretBox, staging: Sequence[Network]) -> None:
        self._db = db
        self._box = box
        self._staging = tuple(staging)

    def __call__(self, written: Sequence[tuple[int, Event]]) -> None:
        candidates = {
            device_id
            for device_id, event in written
            if served_on_bench(event, self._staging) or registered_on_bench(event, self._staging)
        }
        if not candidates:
            return
        with self._db.session() as session:
            for mac in promote_staged(session, self._box, self._staging, candidates):
                log.info("device %s staged: its config was fetched on the bench", mac)
