"""Wiring: settings -> database, secret box, timeline writer, delivery service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from provisioner.db.session import Database
from provisioner.domain.delivery.pipeline import Provisioner, parse_networks
from provisioner.domain.firmware.watcher import FirmwareWatcher
from provisioner.domain.staging.auto_stage import BenchStager
from provisioner.domain.timeline import TimelineWriter
from provisioner.secretbox import SecretBox, load_key
from provisioner.settings import Settings


@dataclass
class Service:
    settings: Settings
    db: Database
    box: SecretBox
    timeline: TimelineWriter
    provisioner: Provisioner

    def close(self) -> None:
        self.timeline.stop()
        self.db.dispose()


def key_file(settings: Settings) -> Path:
    """The key file lives beside a SQLite database, else in the working directory."""
    url = make_url(settings.db)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent / settings.secret_key_file
    return Path(settings.secret_key_file).resolve()


def open_service(settings: Settings, *, upgrade: bool = True) -> Service:
    settings.validate()
    db = Database(settings.db)
    if upgrade:
        db.upgrade()
    key = load_key(settings.secret_key, key_file(settings))
    box = SecretBox(key)
    # Devices that fetched their config on the bench are staged as their fetches are written;
    # firmware downloads move devices along their upgrade path.
    stager = BenchStager(db, box, parse_networks(settings.staging_networks))
    timeline = TimelineWriter(db, observers=(stager, FirmwareWatcher(db)))
    provisioner = Provisioner(db, box, settings, timeline, nonce_key=key.encode("ascii"))
    return Service(settings, db, box, timeline, provisioner)
