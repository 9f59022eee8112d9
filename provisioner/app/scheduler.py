"""``serve``'s scheduler thread: applies the scheduled changes that are due (``web.replay``).

Every ``serve`` runs one; with several instances on one PostgreSQL database each change is still
applied once, because a change is claimed with a row lock for the transaction that applies it.
"""

from __future__ import annotations

import logging

from provisioner.app.service import Service
from provisioner.domain.background import BackgroundThread

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a change set for 09:00 runs by 09:00:01


class SchedulerThread(BackgroundThread):
    def __init__(self, service: Service) -> None:
        super().__init__("scheduler")
        self._service = service

    def _main(self) -> None:
        from provisioner.web import create_app  # the replay goes through the whole application
        from provisioner.web.replay import apply_due

        app = create_app(self._service)
        while not self._stop.wait(POLL_SECONDS):
            try:
                apply_due(app)
            except Exception:
                log.exception("applying scheduled changes failed; trying again in %s s",
                              POLL_SECONDS)  # fmt: skip
