"""The registration poller: reads every configured PBX core, stores what changed, raises alerts.

``serve`` runs it in a thread of its parent process, like the PoE poller (one per service,
however many HTTP workers). Each core is read in its own short unit of work: one core that does
not answer costs its timeout and leaves the others' lines current.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from provisioner import metrics
from provisioner.db.models import utcnow
from provisioner.db.session import Database
from provisioner.domain.background import BackgroundThread
from provisioner.domain.inventory import representatives
from provisioner.domain.registrations import alerts
from provisioner.domain.registrations.sync import CoreUnreadable, read_core
from provisioner.domain.timeline import TimelineWriter
from provisioner.pbx.usrloc import reader, representative_calls
from provisioner.settings import Settings

log = logging.getLogger(__name__)


def poll_once(db: Database, settings: Settings, timeline: TimelineWriter) -> None:
    """One read of each core, then the alerts and metrics; events go to the timeline writer."""
    for url in settings.pbx_readers:
        with db.session() as session:
            events = read_core(session, url, reader(url))
        for event in events:
            timeline.record(event)
    with db.session() as session:
        raised = alerts.raise_alerts(
            session,
            settings.pbx_readers,
            dt.timedelta(seconds=settings.unregistered_alert_seconds),
            utcnow(),
        )
        counts = alerts.tally(session)
    for event in raised:
        timeline.record(event)
    metrics.set_registrations(counts)
    metrics.set_representative_calls(representative_call_counts(db, settings))


def representative_call_counts(db: Database, settings: Settings) -> Counter[str]:
    """Calls in progress on each holding tenant's representative numbers, over all cores; a
    core that does not answer is left out (its lines are 'unknown' by then)."""
    with db.session() as session:
        tenants = representatives.holders(session)
    calls: Counter[str] = Counter(dict.fromkeys(tenants, 0))
    for url in settings.pbx_readers:
        try:
            calls.update(representative_calls(url, tenants))
        except CoreUnreadable as exc:
            log.warning("representative calls not read: %s", exc)
    return calls


class RegistrationThread(BackgroundThread):
    """:func:`poll_once` every ``registration_poll_seconds`` in a daemon thread of ``serve``."""

    def __init__(self, db: Database, settings: Settings, timeline: TimelineWriter) -> None:
        super().__init__("registrations")
        self._db, self._settings, self._timeline = db, settings, timeline

    def _main(self) -> None:
        while True:
            try:
                poll_once(self._db, self._settings, self._timeline)
            except Exception:
                log.exception("a registration poll failed")
            if self._stop.wait(self._settings.registration_poll_seconds):
                return
