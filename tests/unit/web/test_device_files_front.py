"""Device files answered by the RSGI front from the scope answer exactly as the Flask route
does, and every other request reaches Flask."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import Client, TestResponse

from provisioner.app.service import Service
from provisioner.db.models import Device
from provisioner.domain.delivery.networks import parse_networks
from provisioner.domain.delivery.pipeline import Delivery, Fetch
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.web.device_files import DeviceFiles
from provisioner.web.front import BufferedFront
from tests.support.digest import digest_header
from tests.support.rsgi import Scope, answered

MAC = "000b82aa0001"
FILE = f"/cfg{MAC}.xml"
BENCH, FIELD = "127.0.0.1", "192.0.2.10"  # the default staging networks hold loopback only


@pytest.fixture
def front(service: Service, app: Flask) -> BufferedFront:
    """The front as granian's workers build it, over a device in service."""
    row = {"tenant": "acme", "extension": "1001", "display_name": "a", "mac": MAC,
           "model": "GXP1610", "port": "1"}  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows([row]), actor="test").ok
    return BufferedFront(app.wsgi_app, threads=1, body_seconds=5, direct=DeviceFiles(app))


def credentials(service: Service) -> tuple[str, str]:
    with service.db.session() as session:
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        user, encrypted = device.http_user, device.http_password_encrypted
    assert user
    assert encrypted
    return user, service.box.decrypt(encrypted)


def scope(path: str, source: str, *headers: tuple[str, str], method: str = "GET",
          query: str = "") -> Scope:  # fmt: skip
    return Scope(path, method, list(headers), client=f"{source}:5060", query_string=query)


def flask(app: Flask, path: str, source: str, **headers: str) -> TestResponse:
    return Client(app).get(path, environ_base={"REMOTE_ADDR": source}, headers=headers)


def test_the_front_answers_like_the_flask_route(front: BufferedFront, app: Flask) -> None:
    for source in (BENCH, FIELD):
        status, headers, body = answered(front, scope(FILE, source))
        theirs = flask(app, FILE, source)
        assert status == theirs.status_code == (200 if source == BENCH else 401)
        names = {name for name, _ in headers}
        assert names == {"Content-Type", "Content-Length"} | (
            {"Cache-Control"} if source == BENCH else {"WWW-Authenticate"})  # fmt: skip
        for name, value in headers:
            if name != "WWW-Authenticate":  # a fresh nonce each time
                assert theirs.headers[name] == value
        assert body == theirs.data
    status, headers, body = answered(front, scope(FILE, BENCH, method="HEAD"))
    assert (status, body) == (200, b"")
    assert dict(headers)["Content-Length"] == str(len(answered(front, scope(FILE, BENCH))[2]))


def test_a_digest_answer_is_served_once_for_the_uri_it_names(
    service: Service, front: BufferedFront
) -> None:
    user, password = credentials(service)

    def fetch(path: str, query: str, uri: str) -> tuple[int, int]:
        """(status with a fresh answer naming ``uri``, status of that answer replayed)"""
        challenge = dict(answered(front, scope(path, FIELD, query=query))[1])["WWW-Authenticate"]
        header = ("authorization", digest_header(challenge, user, password, uri))
        first = answered(front, scope(path, FIELD, header, query=query))[0]
        return first, answered(front, scope(path, FIELD, header, query=query))[0]

    assert fetch(FILE, "", FILE) == (200, 401)  # served once; a replay is refused
    assert fetch(FILE, "x=1", f"{FILE}?x=1")[0] == 200
    assert fetch(FILE, "x=1", FILE)[0] == 401  # the query is part of the URI
    assert fetch(FILE, "", quote(FILE, safe="/"))[0] == 200  # percent-encoded: the same
    assert fetch(FILE, "", "/other.xml")[0] == 401
    # A path that is not UTF-8 reaches granian as U+FFFD, as Werkzeug reads it too.
    assert fetch(f"/a\ufffd{FILE}", "", f"/a%FF{FILE}")[0] == 200


def test_several_headers_of_one_name_are_joined_as_wsgi_joins_them(
    service: Service, front: BufferedFront, app: Flask
) -> None:
    service.provisioner.proxies = parse_networks(("127.0.0.1/32",))
    hops = ("x-forwarded-for", FIELD), ("x-forwarded-for", "127.0.0.5")
    # The nearest hop that is not a proxy: 127.0.0.5 (the bench), not the first header's.
    assert answered(front, scope(FILE, BENCH, *hops))[0] == 200
    assert flask(app, FILE, BENCH, **{"X-Forwarded-For": f"{FIELD},127.0.0.5"}).status_code == 200
    assert answered(front, scope(FILE, "127.0.0.9", *hops))[0] == 200  # no proxy: its peer
    assert answered(front, scope(FILE, BENCH, hops[0]))[0] == 401


def test_what_the_pipeline_sees_is_the_same_through_either_door(
    service: Service, front: BufferedFront, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Fetch] = []
    deliver = service.provisioner.deliver

    def recording(fetch: Fetch) -> Delivery:
        seen.append(fetch)
        return deliver(fetch)

    monkeypatch.setattr(service.provisioner, "deliver", recording)
    headers = {"User-Agent": "Grandstream GXP1610 1.0.11.23", "Authorization": "Basic dTpw"}
    answered(front, scope(FILE, FIELD, *((k.lower(), v) for k, v in headers.items()),
                          query="a=%41"))  # fmt: skip
    flask(app, f"{FILE}?a=%41", FIELD, **headers)
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert seen[0].basic == ("u", "p")
    assert seen[0].target == f"{FILE}?a=%41"


def test_other_routes_and_methods_reach_flask(front: BufferedFront) -> None:
    assert answered(front, scope("/healthz", FIELD))[2] == b"ok\n"
    assert answered(front, scope("/api/v1/tenants", FIELD))[0] == 401  # the API's own answer
    assert answered(front, scope(FILE, BENCH, method="POST"))[0] == 405
    assert answered(front, scope("/", BENCH))[0] == 404
