"""Backups on PostgreSQL (Debian's server, pg_dump and pg_restore): a round trip serves the same
bytes; a backup under another key is refused before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import make_url

from provisioner.app.service import Service, open_service
from provisioner.db.models import DeviceLine
from provisioner.domain.errors import Conflict
from provisioner.domain.operations.backup import create_backup, restore_backup
from provisioner.domain.operations.keys import rotate_key, undecryptable
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from tests.support.fleet import demo_files, seed
from tests.support.server import TEST_KEY

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own: a restore replaces a whole schema."""
    name = f"backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def lines(service: Service) -> int:
    with service.db.session() as session:
        return session.execute(select(func.count()).select_from(DeviceLine)).scalar_one()


def test_round_trip_and_wrong_key_on_postgres(own_database: str, tmp_path: Path) -> None:
    settings = Settings(db=own_database, secret_key=TEST_KEY)
    service = open_service(settings)
    try:
        seed(service)
        before = demo_files(service)
        target = tmp_path / "pg.tar"
        manifest = create_backup(service.db, service.box, target)
        assert manifest.backend == "postgresql"
        with service.db.session() as session:
            session.execute(delete(DeviceLine))
        assert lines(service) == 0
        other = SecretBox(Fernet.generate_key().decode())
        with pytest.raises(Conflict, match="fingerprint"):
            restore_backup(service.db, other, target)
        assert lines(service) == 0  # refused before anything was written
        restore_backup(service.db, service.box, target)
        assert lines(service) > 0
    finally:
        service.close()
    fresh = open_service(settings)
    try:
        assert demo_files(fresh) == before
    finally:
        fresh.close()


def test_key_rotation_on_postgres(own_database: str) -> None:
    service = open_service(Settings(db=own_database, secret_key=TEST_KEY))
    seed(service)
    before = demo_files(service)
    new_key = Fernet.generate_key().decode()
    done = rotate_key(service.db, service.box, new_key, batch=7)
    assert done.rewritten > 0
    assert undecryptable(service.db, service.box) == done.rewritten
    service.close()
    rotated = open_service(Settings(db=own_database, secret_key=new_key))
    try:
        assert demo_files(rotated) == before
    finally:
        rotated.close()
