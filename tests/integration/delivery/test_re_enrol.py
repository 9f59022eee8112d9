"""On-site re-enrolment (issue 13): an installed phone that forgot its credentials comes back.

`provisioner serve` with the bench at 127.0.0.2/32; the customer's network is 127.0.0.1/32 and
127.0.0.3 is somewhere else. Clients are curl processes bound to those addresses.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from provisioner.db.models import Device, Tenant
from provisioner.domain.inventory import lifecycle
from provisioner.secretbox import SecretBox
from tests.integration.delivery.test_secure_delivery import (
    BENCH,
    FIELD,
    PROBE,
    credentials,
    curl,
    db,
    demo_mac_of,
)
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

MAC = demo_mac_of("GXP1610")
CACHE_SECONDS = 1.2  # the served file and the device are cached for up to a second


@pytest.fixture
def field(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={"PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32"},
    )  # fmt: skip
    database, box = db(server), SecretBox(TEST_KEY)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        for action in (lifecycle.Action.STAGE, lifecycle.Action.SHIP, lifecycle.Action.INSTALL):
            lifecycle.apply(session, box, device, action, actor="test")
        session.scalars(select(Tenant)).one().allowed_networks = [f"{FIELD}/32"]
    database.dispose()
    time.sleep(CACHE_SECONDS)
    try:
        yield server
    finally:
        stop_server(server)


def _token(server: RunningServer, role: str) -> str:
    made = server.cli("token", "create", f"{role}-desk", "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.decode().strip()


def _re_enrol(server: RunningServer, token: str, body: dict[str, object]) -> tuple[int, bytes]:
    status, answer, _ = curl(
        f"{server.http}/api/v1/devices/{MAC}/actions/re-enrol", "-X", "POST",
        "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
        "--data", json.dumps(body),
    )  # fmt: skip
    return status, answer


def test_support_re_enrols_a_reset_phone_once_from_its_network(field: RunningServer) -> None:
    url = f"{field.http}/cfg{MAC}.xml"
    old_user, old_password = credentials(field, MAC)
    assert curl(url)[0] == 401  # factory reset: no credentials, the usual challenge
    assert _re_enrol(field, _token(field, "readonly"), {"reason": "reset"})[0] == 403
    assert _re_enrol(field, _token(field, "warehouse"), {"reason": "reset"})[0] == 403
    support = _token(field, "support")
    assert _re_enrol(field, support, {"reason": ""})[0] == 422
    status, answer = _re_enrol(field, support, {"reason": "customer factory-reset it"})
    assert status == 200, answer
    assert json.loads(answer)["mac"] == MAC
    time.sleep(CACHE_SECONDS)
    user, password = credentials(field, MAC)
    assert password != old_password

    assert curl(url, source=PROBE)[0] == 401  # not the tenant's network: the window stays
    status, body, _ = curl(url)
    assert status == 200
    assert password.encode() in body  # the one fetch carries the new credentials
    assert old_password.encode() not in body
    assert curl(url)[0] == 401  # only one
    assert curl(url, "--digest", "-u", f"{old_user}:{old_password}")[0] == 401
    assert curl(url, "--digest", "-u", f"{user}:{password}")[0] == 200

    shown = field.cli("device", "show", MAC).stdout.decode()
    assert "re-enrol armed" in shown
    assert "customer factory-reset" in shown
    assert "re-enrolled" in shown


def test_a_re_enrolment_window_that_ran_out_opens_nothing(field: RunningServer) -> None:
    made = field.cli("device", "re-enrol", MAC, "--hours", "1", "--reason", "reset on site")
    assert made.returncode == 0, made.stderr
    database = db(field)
    with database.session() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(update(Device).where(Device.mac == MAC).values(re_enrol_until=past))
    database.dispose()
    time.sleep(CACHE_SECONDS)
    assert curl(f"{field.http}/cfg{MAC}.xml")[0] == 401
    refused = field.cli("device", "re-enrol", demo_mac_of("GXP2170"), "--reason", "reset")
    assert refused.returncode != 0  # bound, not installed: the bench is where it gets them
    assert b"installed" in refused.stderr + refused.stdout
