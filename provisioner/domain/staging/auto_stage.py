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
from provisioner.db.render_changes import EVERYTHING
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
    rows = _promote(session, box, staging, device_ids)
    return [row.mac for row in rows if row.state is DeviceState.STAGED]


def _promote(
    session: Session, box: SecretBox, staging: Sequence[Network], device_ids: Iterable[int] | None
) -> list[BenchRow]:
    """The bound devices among ``device_ids`` (all where None), each staged if ready."""
    devices = bench_devices(session, device_ids, states=(DeviceState.BOUND,), lock=True)
    return _stage_ready(session, box, devices, bench_rows(session, staging, devices))


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

    Only a successful fetch (or a line registration) from a staging network can stage a
    device, so a boot storm of installed devices at customers' sites costs a filter in memory
    and no query. Only a bound device can be staged: the devices found not bound (staged
    already, shipped, ...) are remembered, so a bench's boot storm of staged devices costs no
    query either after the first batch. A device is forgotten when the inventory says it
    changed (a device bound again is a changed device: see :meth:`forget`).
    """

    def __init__(self, db: Database, box: SecretBox, staging: Sequence[Network]) -> None:
        self._db = db
        self._box = box
        self._staging = tuple(staging)
        self._settled: set[str] = set()  # MACs of devices found not bound

    def forget(self, changed: frozenset[str]) -> None:
        """Told by the timeline writer before each batch: these MACs (or ``EVERYTHING``)
        changed since the last batch, so what was found of them may be wrong now."""
        if EVERYTHING in changed:
            self._settled.clear()
        else:
            self._settled -= changed

    def __call__(self, written: Sequence[tuple[int, Event]]) -> None:
        settled = self._settled
        candidates = {
            device_id: event.mac
            for device_id, event in written
            if event.mac not in settled
            and (served_on_bench(event, self._staging) or registered_on_bench(event, self._staging))
        }
        if not candidates:
            return
        with self._db.session() as session:
            rows = _promote(session, self._box, self._staging, candidates)
        bound = set()
        for row in rows:
            if row.state is DeviceState.STAGED:
                log.info("device %s staged: its config was fetched on the bench", row.mac)
            else:
                bound.add(row.mac)
        # Committed: the rest are not bound (or no longer exist, and are forgotten as such).
        settled.update(set(candidates.values()) - bound)
