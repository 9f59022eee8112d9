"""Slow request bodies against a real ``provisioner serve``: raw sockets trickle bodies to the
three routes that read one (a gateway's CDRs, a sheet import, the staging login) while curl
fetches a gateway's config with Digest every half second (issue 17, finding 4)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from provisioner.db.models import ApiRole
from provisioner.db.session import Database
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import DEMO_TENANT
from provisioner.secretbox import SecretBox
from tests.support.digest import digest_header
from tests.support.gateway_inventory import Gateway, add_gateway, tenant_named
from tests.support.server import TEST_KEY, RunningServer, start_server, stop_server

SLOW_PER_ROUTE = 50
DECLARED = 4000  # bytes each slow body promises (under every route's limit)
WINDOW = 10.0  # seconds of honest fetches while the slow bodies are held open


@dataclass
class Lab:
    server: RunningServer
    gateway: Gateway
    warehouse_token: str


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("slow")
    server = start_server(workdir, f"sqlite:///{workdir / 'inventory.db'}")
    db = Database(f"sqlite:///{workdir / 'inventory.db'}")
    with db.session() as session:
        tenant = tenant_named(session, DEMO_TENANT)
        box = SecretBox(TEST_KEY)
        gateway = add_gateway(session, box, "0011223355ab", tenant, {"0399990001": "1001"})
        token = create_token(session, "slow-warehouse", ApiRole.WAREHOUSE)[1]
    db.dispose()
    try:
        yield Lab(server, gateway, token)
    finally:
        stop_server(server)


def _challenge(lab: Lab, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", lab.server.http_port, timeout=10)
    try:
        connection.request("POST", path, body=b"")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 401
        return answer.headers["WWW-Authenticate"]
    finally:
        connection.close()


def _slow(lab: Lab, path: str, headers: dict[str, str], first: bytes) -> socket.socket:
    """A connection that sent its headers and the first bytes of a longer body."""
    sock = socket.create_connection(("127.0.0.1", lab.server.http_port), timeout=10)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {DECLARED}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + first)
    return sock


def _honest_fetch(lab: Lab) -> tuple[int, float]:
    """A gateway fetching its config with Digest (curl): status and seconds taken."""
    started = time.monotonic()
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "--digest", "-u",
         f"{lab.gateway.http_user}:{lab.gateway.http_password}",
         f"{lab.server.http}/gateway/{lab.gateway.mac}/config.json"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return int(done.stdout or 0), time.monotonic() - started


def test_slow_bodies_on_three_routes_leave_digest_fetches_answered_within_a_second(
    lab: Lab,
) -> None:
    cdrs = f"/gateway/{lab.gateway.mac}/cdrs"
    held: list[socket.socket] = []
    try:
        for _ in range(SLOW_PER_ROUTE):
            proof = digest_header(_challenge(lab, cdrs), lab.gateway.http_user,
                                  lab.gateway.http_password, cdrs, method="POST")  # fmt: skip
            held.append(_slow(lab, cdrs, {"Authorization": proof,
                                          "Content-Type": "application/json"}, b"["))  # fmt: skip
            held.append(_slow(lab, "/api/v1/imports",
                              {"Authorization": f"Bearer {lab.warehouse_token}",
                               "Content-Type": "text/csv"}, b"tenant,"))  # fmt: skip
            held.append(_slow(lab, "/staging/login",
                              {"Content-Type": "application/x-www-form-urlencoded"},
                              b"csrf="))  # fmt: skip
        timings = []
        end = time.monotonic() + WINDOW
        while time.monotonic() < end:
            for sock in held:
                sock.sendall(b"x")  # one more byte each: alive, never finished
            timings.append(_honest_fetch(lab))
            time.sleep(0.5)
    finally:
        for sock in held:
            sock.close()
    assert len(timings) >= WINDOW / 1.5
    assert all(status == 200 for status, _ in timings), timings
    assert max(seconds for _, seconds in timings) < 1.0, timings


def test_a_body_over_the_routes_limit_is_refused_before_it_is_read(lab: Lab) -> None:
    sock = socket.create_connection(("127.0.0.1", lab.server.http_port), timeout=10)
    with sock:
        sock.sendall(
            b"POST /staging/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"larger than 16384 bytes" in answer
