"""The composition root: settings -> database, secret box, firmware catalog, timeline writer,
delivery service and resync queue, built once here for every front door (CLI, web, benches)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from firmware.catalog import Catalog
from provisioner.db.session import Database
from provisioner.domain.delivery.digest import SpentNonces
from provisioner.domain.delivery.pipeline import Provisioner, parse_networks
from provisioner.domain.delivery.resync import ResyncQueue
from provisioner.domain.firmware.watcher import FirmwareWatcher
from provisioner.domain.operations.keys import check_key
from provisioner.domain.staging.auto_stage import BenchStager
from provisioner.domain.timeline import TimelineWriter
from provisioner.secretbox import SecretBox, SecretKeyError, load_key
from provisioner.settings import Settings
from provisioner.sip.notify import send_notify

# Set by ``serve`` for its HTTP workers: the instance's spent-nonce file (digest.SpentNonces).
NONCE_STORE_ENV = "PROVISIONER_INTERNAL_NONCE_STORE"


@dataclass
class Service:
    settings: Settings
    db: Database
    box: SecretBox
    catalog: Catalog
    timeline: TimelineWriter
    provisioner: Provisioner
    resync: ResyncQueue  # resyncs after an admin change, off the request that made it

    def close(self) -> None:
        self.timeline.stop()
        self.db.dispose()


def key_file(settings: Settings) -> Path:
    """The key file lives beside a SQLite database, else in the working directory."""
    url = make_url(settings.db)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent / settings.secret_key_file
    return Path(settings.secret_key_file).resolve()


def firmware_catalog(settings: Settings) -> Catalog:
    """The image store every front door serves from; commands that only manage images use it
    without opening a database."""
    return Catalog(settings.firmware_dir)


def open_storage(settings: Settings) -> tuple[Database, SecretBox]:
    """The database as it is (not upgraded) and the configured key (never a new one): what a
    backup, a restore or a key rotation works on."""
    settings.validate()
    path = key_file(settings)
    if not settings.secret_key and not path.exists():
        raise SecretKeyError(
            f"no PROVISIONER_SECRET_KEY set and no key file {path}: configure the key the "
            "database was written with"
        )
    return Database(settings.db), SecretBox(load_key(settings.secret_key, path))


def open_service(settings: Settings, *, upgrade: bool = True) -> Service:
    settings.validate()
    db = Database(settings.db)
    if upgrade:
        db.upgrade()
    key = load_key(settings.secret_key, key_file(settings))
    box = SecretBox(key)
    check_key(db, box)
    # Devices that fetched their config on the bench are staged as their fetches are written;
    # firmware downloads move devices along their upgrade path.
    stager = BenchStager(db, box, parse_networks(settings.staging_networks))
    timeline = TimelineWriter(db, observers=(stager, FirmwareWatcher(db)))
    store = os.environ.get(NONCE_STORE_ENV)
    spent = SpentNonces(Path(store) if store else None)
    provisioner = Provisioner(
        db, box, settings, timeline, nonce_key=key.encode("ascii"), spent=spent
    )
    resync = ResyncQueue(provisioner, send_notify)
    return Service(settings, db, box, firmware_catalog(settings), timeline, provisioner, resync)
