"""Key rotation: interrupted and run again it finishes, every file keeps its bytes, and the
old key opens nothing afterwards."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Text

from provisioner.app.service import Service, open_service
from provisioner.db.models import Base
from provisioner.domain.errors import Invalid
from provisioner.domain.operations.keys import SECRET_COLUMNS, Rotation, rotate_key, undecryptable
from provisioner.secretbox import SecretBox, SecretKeyError
from provisioner.settings import Settings
from tests.support.fleet import demo_files, seed


class Interrupted(Exception):
    pass


def test_every_encrypted_column_is_rotated() -> None:
    rotated = {(model.__tablename__, name) for model, names in SECRET_COLUMNS for name in names}
    stored = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_encrypted") and isinstance(column.type, Text)
    }
    assert stored == rotated


def test_interrupted_rotation_finishes_when_run_again(service: Service, settings: Settings) -> None:
    seed(service)
    before = demo_files(service)
    new_key = Fernet.generate_key().decode()

    def stop_after_two(done: Rotation) -> None:
        if done.rewritten >= 10:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate_key(service.db, service.box, new_key, batch=5, after_batch=stop_after_two)
    assert undecryptable(service.db, service.box) > 0  # half done: some under each key
    assert undecryptable(service.db, SecretBox(new_key)) > 0
    during = open_service(Settings(db=settings.db, secret_key=f"{new_key},{settings.secret_key}"))
    try:  # a service restarted with both keys serves every device during the switch
        assert demo_files(during) == before
    finally:
        during.close()
    done = rotate_key(service.db, service.box, new_key, batch=5)
    assert done.already == 10
    assert done.rewritten > 0
    assert undecryptable(service.db, SecretBox(new_key)) == 0
    total = done.rewritten + done.already
    assert undecryptable(service.db, service.box) == total  # the old key opens nothing
    service.close()
    with pytest.raises(SecretKeyError, match="does not decrypt"):  # the old key, refused
        open_service(settings)
    rotated = open_service(Settings(db=settings.db, secret_key=new_key))
    try:
        assert demo_files(rotated) == before
    finally:
        rotated.close()


def test_the_key_in_use_is_no_new_key(service: Service, settings: Settings) -> None:
    with pytest.raises(Invalid, match="in use"):
        rotate_key(service.db, service.box, settings.secret_key)


def test_a_wrong_current_key_is_refused_before_anything_changes(service: Service) -> None:
    seed(service)
    stranger = SecretBox(Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError, match="neither key"):
        rotate_key(service.db, stranger, Fernet.generate_key().decode())
    assert undecryptable(service.db, service.box) == 0
