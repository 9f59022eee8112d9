"""Registration truth (issue 13): phones register on a Kamailio core made by `provisioner pbx
config`, and `serve` shows each line registered, unregistered, expired, or unknown.

Real peers: `provisioner serve` (its registration poller), Kamailio with jsonrpcs over xhttp,
SIPp UAs registering with the credentials the provisioner rendered for the devices.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.grandstream_file import account, settings
from tests.support.pbx_support import Core, core_from_cli, register
from tests.support.ports import free_port, free_udp_port
from tests.support.server import RunningServer, start_server, stop_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.sip

GXP, HT = "000b82aa2170", "000b82aa0802"
ROWS = [
    {"tenant": "acme", "extension": "2001", "direct_number": "", "display_name": "Taro",
     "mac": GXP, "model": "GXP2170", "port": "1"},
    {"tenant": "acme", "extension": "2002", "direct_number": "", "display_name": "Hanako",
     "mac": GXP, "model": "GXP2170", "port": "2"},
    {"tenant": "acme", "extension": "2003", "direct_number": "", "display_name": "Fax",
     "mac": HT, "model": "HT802", "port": "1"},
]  # fmt: skip


@dataclass
class Bench:
    server: RunningServer
    core: Core
    token: str
    workdir: Path

    def api(self, path: str) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.server.http}/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())

    def states(self, mac: str) -> dict[int, str]:
        return {line["port"]: line["state"] for line in self.api(f"/devices/{mac}/registrations")}

    def rendered(self, mac: str) -> dict[int, tuple[str, str]]:
        """(user, password) per line from the file the device fetches on the bench."""
        url = f"{self.server.http}/cfg{mac}.xml"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            _, values = settings(answer.read())
        return {
            port: (line["user"], line["password"])
            for port in (1, 2)
            if (line := account(values, port))["user"]
        }


def _cli(server: RunningServer, *args: str) -> str:
    done = server.cli(*args)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    sip_port, rpc_port = free_udp_port(), free_port()
    sheet = tmp_path / "sheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    server = start_server(
        tmp_path,
        f"sqlite:///{tmp_path / 'inventory.db'}",
        env_extra={
            "PROVISIONER_PBX_READERS": f"http://127.0.0.1:{rpc_port}/RPC",
            "PROVISIONER_PBX_CORE": f"127.0.0.1:{sip_port}",
            "PROVISIONER_REGISTRATION_POLL_SECONDS": "0.5",
        },
    )
    core = None
    try:
        _cli(server, "import", str(sheet))
        token = _cli(server, "token", "create", "support-desk", "--role", "support").strip()
        core = core_from_cli(server, tmp_path, sip_port, rpc_port, "--min-expires", "1")
        yield Bench(server, core, token, tmp_path)
    finally:
        if core is not None:
            core.stop()
        stop_server(server)


def _within(seconds: float, check: Any) -> float:
    """How long ``check`` took to hold; fails past ``seconds``."""
    start = time.monotonic()
    assert wait_until(check, seconds, interval=0.1), f"not within {seconds} s"
    return time.monotonic() - start


def test_lines_register_unregister_expire_and_a_down_core_is_unknown(bench: Bench) -> None:
    # "unknown" until the poller's first read of the core (every 0.5 s, after serve started).
    _within(10, lambda: bench.states(GXP) == {1: "unregistered", 2: "unregistered"})
    gxp, ht = bench.rendered(GXP), bench.rendered(HT)
    assert set(gxp) == {1, 2}
    assert set(ht) == {1}
    port = bench.core.port
    for user, password in (*gxp.values(), ht[1]):
        assert register(bench.workdir, port, user, password, 5999,
                        user_agent="Grandstream GXP2170 1.0.11.3") == "200"  # fmt: skip
    _within(5, lambda: bench.states(GXP) == {1: "registered", 2: "registered"})
    _within(5, lambda: bench.states(HT) == {1: "registered"})
    device = bench.api(f"/devices/{GXP}")
    line1 = device["registrations"][0]
    assert line1["state"] == "registered"
    assert line1["user_agent"] == "Grandstream GXP2170 1.0.11.3"
    assert line1["contact"].endswith("@127.0.0.1:5999")
    assert line1["source"] == "127.0.0.1:5999"
    assert line1["expires_at"]
    assert line1["first_seen"]

    # Line 2 says goodbye: Expires 0.
    assert register(bench.workdir, port, *gxp[2], 5999, expires=0) == "200"
    _within(5, lambda: bench.states(GXP) == {1: "registered", 2: "unregistered"})

    # The HT802 re-registers for 2 s (the poller reads every 0.5 s) and lets it lapse.
    assert register(bench.workdir, port, *ht[1], 5999, expires=2) == "200"
    _within(5, lambda: bench.states(HT) == {1: "unregistered"})

    def registration_details() -> list[str]:
        return [
            event["detail"]
            for mac in (GXP, HT)
            for event in bench.api(f"/devices/{mac}/timeline?limit=50")
            if event["kind"] == "registration"
        ]

    _within(2, lambda: any(d.startswith("expired line 1 (2003)") for d in registration_details()))
    details = registration_details()
    assert any(d.startswith("registered line 1 (2001)") for d in details), details
    assert any(d.startswith("registered line 2 (2002)") for d in details), details
    assert any(d.startswith("unregistered line 2 (2002)") for d in details), details
    assert any(d.startswith("registered line 1 (2003)") for d in details), details
    assert any(d.startswith("expired line 1 (2003)") for d in details), details

    # The core goes down: nothing is known any more, and nothing is called unregistered.
    bench.core.stop()
    _within(20, lambda: bench.states(GXP) == {1: "unknown", 2: "unknown"})
    assert not any(
        event["detail"].startswith(("unregistered line 1", "expired line 1 (2001)"))
        for event in bench.api(f"/devices/{GXP}/timeline?limit=50")
        if event["kind"] == "registration"
    )
    shown = _cli(bench.server, "device", "show", GXP)
    assert "unknown" in shown
