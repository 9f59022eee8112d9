"""The lean front for device files answers exactly as the Flask route does, and hands every
other request to Flask."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import Client, TestResponse

from provisioner.app.service import Service
from provisioner.db.models import Device
from provisioner.domain.delivery.digest import REALM, DigestResponse, expected_response
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.web.device_files import lean_front

MAC = "000b82aa0001"
FILE = f"/cfg{MAC}.xml"
BENCH, FIELD = "127.0.0.1", "192.0.2.10"  # the default staging networks hold loopback only


@pytest.fixture
def clients(service: Service, app: Flask) -> tuple[Client, Client]:
    """(lean front, Flask alone) over the same application."""
    row = {"tenant": "acme", "extension": "1001", "display_name": "a", "mac": MAC,
           "model": "GXP1610", "port": "1"}  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows([row]), actor="test").ok
    return Client(lean_front(app)), Client(app)


def get(client: Client, path: str, source: str, **headers: str) -> TestResponse:
    return client.get(path, environ_base={"REMOTE_ADDR": source}, headers=headers)


def digest_header(service: Service, challenge: str, nc: str = "00000001") -> str:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        user, encrypted = device.http_user, device.http_password_encrypted
    assert user
    assert encrypted
    nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
    answer = DigestResponse(user, REALM, nonce, FILE, "", "auth", nc, "0a4f113b", "MD5")
    response = expected_response(answer, service.box.decrypt(encrypted), "GET")
    return (
        f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{FILE}", '
        f'qop=auth, nc={nc}, cnonce="0a4f113b", response="{response}", algorithm=MD5'
    )


def test_the_front_answers_like_the_flask_route(clients: tuple[Client, Client]) -> None:
    front, flask_only = clients
    for source in (BENCH, FIELD):
        ours, theirs = get(front, FILE, source), get(flask_only, FILE, source)
        assert ours.status_code == theirs.status_code == (200 if source == BENCH else 401)
        assert ours.headers["Content-Type"] == theirs.headers["Content-Type"]
        assert ours.headers.get("Cache-Control") == theirs.headers.get("Cache-Control")
        assert ours.data == theirs.data
        if source == FIELD:
            assert ours.headers["WWW-Authenticate"].startswith(f'Digest realm="{REALM}"')
    head = front.head(FILE, environ_base={"REMOTE_ADDR": BENCH})
    assert head.status_code == 200
    assert head.data == b""
    assert int(head.headers["Content-Length"]) == len(get(front, FILE, BENCH).data)


def test_a_digest_answer_is_served_once_through_the_front(
    service: Service, clients: tuple[Client, Client]
) -> None:
    front, _ = clients
    challenge = get(front, FILE, FIELD).headers["WWW-Authenticate"]
    header = digest_header(service, challenge)
    assert get(front, FILE, FIELD, Authorization=header).status_code == 200
    assert get(front, FILE, FIELD, Authorization=header).status_code == 401  # a replay


def test_other_routes_and_methods_reach_flask(clients: tuple[Client, Client]) -> None:
    front, _ = clients
    assert get(front, "/healthz", FIELD).data == b"ok\n"
    assert get(front, "/api/v1/tenants", FIELD).status_code == 401  # the API's own answer
    assert front.post(FILE, environ_base={"REMOTE_ADDR": BENCH}).status_code == 405
    assert get(front, "/", BENCH).status_code == 404
