"""SQLite backups: a round trip serves the same bytes; a restore under another key or of a
newer schema is refused before anything is written."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import delete

from provisioner.app.service import Service, open_service
from provisioner.db.models import DeviceLine
from provisioner.db.session import Database
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.operations.backup import (
    MANIFEST,
    create_backup,
    read_manifest,
    restore_backup,
)
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from tests.support.fleet import demo_files, seed


def test_round_trip_serves_the_same_bytes(
    service: Service, settings: Settings, tmp_path: Path
) -> None:
    seed(service)
    before = demo_files(service)
    target = tmp_path / "backup.tar"
    manifest = create_backup(service.db, service.box, target)
    head = ScriptDirectory.from_config(service.db.alembic_config()).get_current_head()
    assert manifest.schema_revision == head
    assert manifest.devices == len(before)
    assert manifest.key_fingerprint == service.box.fingerprint()
    assert settings.secret_key not in target.read_bytes().decode("latin-1")
    with service.db.session() as session:  # the loss the backup is for
        session.execute(delete(DeviceLine))
    assert demo_files_or_none(settings) != before
    restore_backup(service.db, service.box, target)
    fresh = open_service(settings)
    try:
        assert demo_files(fresh) == before
    finally:
        fresh.close()


def demo_files_or_none(settings: Settings) -> dict[str, bytes] | None:
    fresh = open_service(settings)
    try:
        return demo_files(fresh)
    except AssertionError:
        return None
    finally:
        fresh.close()


def test_restore_under_another_key_writes_nothing(service: Service, tmp_path: Path) -> None:
    seed(service)
    target = tmp_path / "backup.tar"
    create_backup(service.db, service.box, target)
    with service.db.session() as session:
        session.execute(delete(DeviceLine))
    database = Path(service.db.engine.url.database or "")
    service.db.dispose()
    untouched = database.read_bytes()
    other = SecretBox(Fernet.generate_key().decode())
    with pytest.raises(Conflict, match="fingerprint"):
        restore_backup(service.db, other, target)
    assert database.read_bytes() == untouched


def test_restore_of_a_newer_schema_is_refused(service: Service, tmp_path: Path) -> None:
    seed(service)
    target = tmp_path / "backup.tar"
    create_backup(service.db, service.box, target)
    newer = tmp_path / "newer.tar"
    with tarfile.open(target) as old, tarfile.open(newer, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member)
            assert data is not None
            body = data.read()
            if member.name == MANIFEST:
                values = json.loads(body)
                values["schema_revision"] = "9999"
                body = json.dumps(values).encode()
                member.size = len(body)
            new.addfile(member, io.BytesIO(body))
    with pytest.raises(Conflict, match="9999 is newer"):
        restore_backup(service.db, service.box, newer)


def test_a_file_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file")
    with pytest.raises(Invalid, match="not a provisioner backup"):
        read_manifest(junk)


def test_a_backup_under_a_key_that_opens_nothing_is_refused(
    service: Service, tmp_path: Path
) -> None:
    seed(service)
    other = SecretBox(Fernet.generate_key().decode())
    with pytest.raises(Exception, match="does not decrypt"):
        create_backup(service.db, other, tmp_path / "backup.tar")
    assert not (tmp_path / "backup.tar").exists()


def test_a_database_without_schema_is_not_backed_up(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    box = SecretBox(Fernet.generate_key().decode())
    with pytest.raises(Invalid, match="no schema yet"):
        create_backup(db, box, tmp_path / "backup.tar")
    db.dispose()
