"""``device doctor`` (issue 13): each cause built with real peers, then diagnosed over the API.

One ``provisioner serve`` for the module (bench at 127.0.0.2/32; the tenant's office is
127.0.0.1/32, 127.0.0.3 is somewhere else, 127.0.0.9 an office address that guesses), with its
registration poller on a Kamailio core made by ``provisioner pbx config``, its PoE poller on an
snmpsim switch, and its firmware catalog. Phones are curl processes bound to those addresses
and SIPp UAs registering with the credentials the bench rendered. Each test has its own device.
"""

from __future__ import annotations

import csv
import json
import random
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.delivery.test_secure_delivery import curl
from tests.support.pbx_support import Core, core_from_cli, register
from tests.support.poe_sim import build_switch, phone_mac
from tests.support.ports import free_port, free_udp_port
from tests.support.server import RunningServer, start_server, stop_server
from tests.support.snmp_agents import snmpsim_agent
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.sip, pytest.mark.snmp]

BENCH, OFFICE, ELSEWHERE, GUESSER = "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.9"
NEVER, LOCKED, WRONG, NETWORK, SILENT, LOST, LOOPER = (f"000b82dd00{n:02x}" for n in range(1, 8))
SWITCH = build_switch("desk8", 7, 8, "cisco", phones=3, budget_w=60, faults=(3,))
UNPOWERED = phone_mac(7, 3, panasonic=True)  # a KX-HDV230 on the faulty port 3
START, TARGET = "1.0.3.1", "1.0.5.32"
P192 = re.compile(r"<P192>[^/<]+/firmware/(?P<dir>[^<]+)</P192>")
LINE1 = ("P35", "P34")  # GXP16xx line 1: SIP user ID, password (docs/vendors.md)


@dataclass
class Desk:
    server: RunningServer
    core: Core
    support: str  # API tokens
    admin: str
    workdir: Path

    def api(
        self, path: str, body: object | None = None, method: str | None = None, *,
        admin: bool = False,
    ) -> Any:  # fmt: skip
        """Reads as support, writes (and ``admin=True``) as admin."""
        token = self.admin if admin or body is not None else self.support
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.server.http}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {token}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())

    def doctor(self, mac: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api(f"/devices/{mac}/diagnosis")
        return found

    def file(self, mac: str) -> str:
        return f"{self.server.http}/cfg{mac}.xml"

    def bench_fetch(self, mac: str, *args: str) -> str:
        status, body, _ = curl(self.file(mac), *args, source=BENCH)
        assert status == 200, body
        return body.decode()

    def ship(self, mac: str) -> None:
        """The warehouse's way: a bench fetch (on the timeline once the writer wrote it), then
        stage and ship."""
        self.bench_fetch(mac)
        assert wait_until(lambda: any(e["kind"] == "fetch" for e in
                                      self.api(f"/devices/{mac}/timeline?limit=20")),
                          5, interval=0.2)  # fmt: skip
        for action in ("stage", "ship"):
            self.api(f"/devices/{mac}/actions/{action}", {}, "POST")

    def install(self, mac: str) -> None:
        """Shipped, then its first contact from the office installs it."""
        self.ship(mac)
        assert wait_until(lambda: curl(self.file(mac), source=OFFICE)[0] == 200, 5, interval=0.3)
        assert self.api(f"/devices/{mac}")["state"] == "installed"


def _cli(server: RunningServer, *args: str) -> str:
    done = server.cli(*args)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    return done.stdout.decode()


def _sheet(path: Path) -> Path:
    rows = [
        {"tenant": "acme", "extension": str(2001 + n), "direct_number": "",
         "display_name": f"Phone {n}", "mac": mac, "model": "GXP1628", "port": "1"}
        for n, mac in enumerate((NEVER, LOCKED, WRONG, NETWORK, SILENT, LOST, LOOPER))
    ]  # fmt: skip
    rows.append({"tenant": "acme", "extension": "2100", "direct_number": "",
                 "display_name": "Reception", "mac": UNPOWERED, "model": "KX-HDV230",
                 "port": "1"})  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("doctor")
    sip_port, rpc_port = free_udp_port(), free_port()
    with snmpsim_agent({"desk8": SWITCH}) as agent:
        server = start_server(
            workdir, f"sqlite:///{workdir / 'inventory.db'}",
            env_extra={
                "PROVISIONER_STAGING_NETWORKS": f"{BENCH}/32",
                "PROVISIONER_PBX_READERS": f"http://127.0.0.1:{rpc_port}/RPC",
                "PROVISIONER_PBX_CORE": f"127.0.0.1:{sip_port}",
                "PROVISIONER_REGISTRATION_POLL_SECONDS": "0.5",
                "PROVISIONER_FIRMWARE_DIR": str(workdir / "store"),
                "PROVISIONER_RATE_CAPACITY": "100",
                "PROVISIONER_LOCKOUT_SECONDS": "600",
            },
        )  # fmt: skip
        core = None
        try:
            _cli(server, "import", str(_sheet(workdir / "sheet.csv")))
            support = _cli(server, "token", "create", "desk", "--role", "support").strip()
            admin = _cli(server, "token", "create", "boss", "--role", "admin").strip()
            core = core_from_cli(server, workdir, sip_port, rpc_port)
            running = Desk(server, core, support, admin, workdir)
            tenant = next(t for t in running.api("/tenants") if t["name"] == "acme")
            networks = {"allowed_networks": [f"{OFFICE}/32", f"{GUESSER}/32"]}
            running.api(f"/tenants/{tenant['id']}", networks, "PATCH")
            switch = {"name": "desk8", "host": "127.0.0.1", "port": agent.port,
                      "vendor": "cisco", "community": "desk8", "poll_interval": 10}  # fmt: skip
            running.api("/poe/switches", switch, "POST")
            yield running
        finally:
            if core is not None:
                core.stop()
            stop_server(server)


def _cause_within(desk: Desk, mac: str, cause: str, seconds: float = 10) -> dict[str, Any]:
    """The diagnosis once its cause is ``cause`` (pollers and the timeline writer need a moment)."""
    assert wait_until(lambda: desk.doctor(mac)["cause"] == cause, seconds, interval=0.3), (
        desk.doctor(mac)
    )
    return desk.doctor(mac)


def test_never_fetched(desk: Desk) -> None:
    found = _cause_within(desk, NEVER, "never_fetched")
    assert "一度も取得していません" in found["ja"]
    assert "option 66" in found["en"]
    shown = _cli(desk.server, "device", "doctor", NEVER)  # the CLI's answer is the same
    assert "一度も取得していません" in shown


def test_locked_out(desk: Desk) -> None:
    desk.install(LOCKED)
    statuses = []
    while 429 not in statuses and len(statuses) < 40:  # each HTTP worker counts on its own
        guess = f"someone:guess{len(statuses)}"
        statuses.append(curl(desk.file(LOCKED), "--digest", "-u", guess, source=GUESSER)[0])
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
    found = _cause_within(desk, LOCKED, "locked_out")
    assert "ロックアウト" in found["ja"]
    assert "locked out until" in found["en"]
    assert any(fact.startswith("last refusal") and GUESSER in fact for fact in found["facts"])


def test_wrong_digest_password(desk: Desk) -> None:
    desk.install(WRONG)
    user = _user(desk, WRONG)
    for _ in range(3):  # a phone keeps retrying with the password it has
        assert curl(desk.file(WRONG), "--digest", "-u", f"{user}:stale")[0] == 401
    found = _cause_within(desk, WRONG, "wrong_digest_password")
    assert "wrong provisioning password" in found["en"]
    assert f"from {OFFICE}" in found["en"]
    assert "device re-enrol" in found["ja"]
    refusals = [e for e in desk.api(f"/devices/{WRONG}/timeline?limit=50")
                if e["kind"] == "refused"]  # fmt: skip
    assert len(refusals) <= 2  # told once per HTTP worker, not once per retry


def _user(desk: Desk, mac: str) -> str:
    credentials: dict[str, str] = desk.api(f"/devices/{mac}/credentials", admin=True)
    return credentials["http_user"]


def test_network_not_allowed(desk: Desk) -> None:
    desk.ship(NETWORK)

    def knocks_from_elsewhere() -> bool:  # the office's NAT moved; the phone retries
        assert curl(desk.file(NETWORK), source=ELSEWHERE)[0] == 401
        return bool(desk.doctor(NETWORK)["cause"] == "network_not_allowed")

    # The delivery's device cache may still see it staged for a second after the ship.
    assert wait_until(knocks_from_elsewhere, 10, interval=0.5)
    found = desk.doctor(NETWORK)
    assert f"from {ELSEWHERE}, which is not in its tenant's allowed networks" in found["en"]
    assert "許可ネットワーク" in found["ja"]
    assert desk.api(f"/devices/{NETWORK}")["state"] == "shipped"


def test_fetched_but_not_registered(desk: Desk) -> None:
    desk.bench_fetch(SILENT)
    found = _cause_within(desk, SILENT, "fetched_not_registered")
    assert f"from {BENCH} but line 1 never registered" in found["en"]
    assert "UDP 5060" in found["ja"]


def test_registered_then_lost(desk: Desk) -> None:
    body = desk.bench_fetch(LOST)
    user = re.search(rf"<{LINE1[0]}>([^<]+)<", body)
    password = re.search(rf"<{LINE1[1]}>([^<]+)<", body)
    assert user is not None
    assert password is not None
    contact = free_udp_port()
    assert register(desk.workdir, desk.core.port, user[1], password[1], contact) == "200"
    _cause_within(desk, LOST, "ok")
    assert register(desk.workdir, desk.core.port, user[1], password[1], contact, expires=0) == "200"
    found = _cause_within(desk, LOST, "registered_then_lost")
    assert "line 1 was registered and lost" in found["en"]


def test_poe_only_phone_unpowered(desk: Desk) -> None:
    found = _cause_within(desk, UNPOWERED, "poe_only_unpowered", seconds=30)
    assert "PoE" in found["ja"]
    assert "delivers no power" in found["en"]
    assert any(fact.startswith("PoE alert poe_only_unpowered") for fact in found["facts"])


def test_firmware_loop_held(desk: Desk) -> None:
    image = desk.workdir / "image.bin"
    image.write_bytes(random.Random(TARGET).randbytes(100_000))
    _cli(desk.server, "firmware", "import", str(image), "--vendor", "grandstream",
         "--model", "GXP1628", "--version", TARGET)  # fmt: skip
    _cli(desk.server, "firmware", "rollout", "create", "looper", "--model", "GXP1628",
         "--target", TARGET, "--device", LOOPER, "--canary", LOOPER,
         "--loop-limit", "2")  # fmt: skip
    agent = f"Grandstream Model HW GXP1628 SW {START} DevId {LOOPER}"

    def told() -> str | None:
        found = P192.search(desk.bench_fetch(LOOPER, "-A", agent))
        return found["dir"] if found else None

    assert wait_until(lambda: told() is not None, 15, interval=0.3)
    for _ in range(2):  # it downloads the image and boots the old version again
        directory = told()
        status, data, _ = curl(f"{desk.server.http}/firmware/{directory}/gxp2170fw.bin",
                               "-A", agent, source=BENCH)  # fmt: skip
        assert status == 200
        assert len(data) == 100_000
    found = _cause_within(desk, LOOPER, "firmware_loop_held")
    assert "firmware update looped" in found["en"]
    assert "ループ" in found["ja"]
