"""Key rotation over 10,000 devices' secrets, killed with SIGKILL halfway and run again: it
finishes, every device's file keeps its bytes, and the old key opens nothing afterwards."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from provisioner.app.service import Service, open_service
from provisioner.db.models import Account, Device
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.operations.keys import undecryptable
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from tests.support.fleet_bulk import bulk_fleet
from tests.support.server import TEST_KEY
from tests.support.waiting import wait_until

DEVICES = 10_000


def digests(service: Service, macs: list[str]) -> dict[str, str]:
    found = {}
    for mac in macs:
        fetch = Fetch(path=f"cfg{mac}.xml", protocol="tftp", source="127.0.0.1")
        delivery = service.provisioner.deliver(fetch)
        assert delivery.outcome is Outcome.SERVED, delivery.reason
        found[mac] = hashlib.sha256(delivery.body).hexdigest()
    return found


def opens(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def test_rotation_killed_halfway_finishes_when_run_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    service = open_service(Settings(db=url, secret_key=TEST_KEY))
    macs = bulk_fleet(service, DEVICES)
    before = digests(service, macs)
    service.close()
    new_key = Fernet.generate_key().decode()
    command = [sys.executable, "-m", "provisioner", "--db", url, "secrets", "rotate-key",
               "--batch", "200"]  # fmt: skip
    env = {**os.environ, "PROVISIONER_SECRET_KEY": TEST_KEY, "PROVISIONER_NEW_SECRET_KEY": new_key}
    watcher = open_service(Settings(db=url, secret_key=TEST_KEY), upgrade=False)

    def first_account_rotated() -> bool:
        with watcher.db.session() as session:
            token = session.execute(select(Account.sip_password_encrypted).limit(1)).scalar_one()
        return opens(new_key, token)

    rotating = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(first_account_rotated, 60, interval=0.005)
        os.kill(rotating.pid, signal.SIGKILL)
    finally:
        rotating.wait(timeout=30)
    assert rotating.returncode == -signal.SIGKILL
    with watcher.db.session() as session:  # halfway: the last device's secrets not yet
        last = session.execute(select(Device.config_key_encrypted).order_by(Device.id.desc()))
        assert opens(TEST_KEY, last.scalars().first() or "")
    watcher.close()

    started = time.monotonic()
    again = subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert b"were already done" in again.stderr
    print(f"second run: {time.monotonic() - started:.1f} s")

    rotated = open_service(Settings(db=url, secret_key=new_key))
    try:
        assert undecryptable(rotated.db, SecretBox(new_key)) == 0
        assert undecryptable(rotated.db, SecretBox(TEST_KEY)) == DEVICES * 4
        assert digests(rotated, macs) == before
    finally:
        rotated.close()
