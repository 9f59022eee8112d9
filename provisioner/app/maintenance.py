"""``serve``'s maintenance thread: the timeline retention purge and the fleet gauges.

One per ``serve`` (in its parent process, like the PoE poller), however many HTTP workers run.
The purge deletes in small batches on sessions of its own, so fetches and the timeline writer
keep going while it runs (bench/retention_purge.py measures it).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from provisioner import metrics
from provisioner.app.service import Service
from provisioner.db.models import utcnow
from provisioner.domain.background import BackgroundThread
from provisioner.domain.operations.convergence import convergence
from provisioner.domain.operations.retention import RetentionPolicy, purge, timeline_size

log = logging.getLogger(__name__)

FIRST_PASS_DELAY = 300  # seconds after start


def retention_policy(service: Service) -> RetentionPolicy:
    settings = service.settings
    return RetentionPolicy(
        fetch_days=settings.retention_fetch_days, keep_last=settings.retention_keep_last
    )


def maintain(
    service: Service, now: dt.datetime | None = None, stop: threading.Event | None = None
) -> int:
    """One pass: purge, then refresh the gauges; returns how many events were purged."""
    purged = purge(service.db, retention_policy(service), now or utcnow(), stop)
    size = timeline_size(service.db)
    metrics.set_timeline(size.events, size.oldest.timestamp() if size.oldest else None, purged)
    metrics.set_fleet(convergence(service.provisioner).fleet.as_dict())
    if purged:
        log.info("retention: %d timeline events purged, %d kept", purged, size.events)
    return purged


class MaintenanceThread(BackgroundThread):
    """:func:`maintain` every ``maintenance_interval`` in a daemon thread of ``serve``."""

    join_seconds = 30.0  # a purge batch in flight finishes first
    # The purge and the convergence figures can wait; the fetches of a storm cannot (on a
    # busy machine the scheduler gives this thread what the fetches leave over).
    nice = 19

    def __init__(self, service: Service) -> None:
        super().__init__("maintenance")
        self._service = service

    def _main(self) -> None:
        # A restart after a power cut meets the boot storm: the first pass waits it out.
        interval = self._service.settings.maintenance_interval
        if self._stop.wait(min(FIRST_PASS_DELAY, interval)):
            return
        while not self._stop.is_set():
            try:
                maintain(self._service, stop=self._stop)
            except Exception:
                log.exception("a maintenance pass failed; the next one is due in %d s",
                              self._service.settings.maintenance_interval)  # fmt: skip
            self._stop.wait(interval)
