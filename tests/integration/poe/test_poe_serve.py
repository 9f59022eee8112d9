"""``provisioner serve`` polls by itself: a switch added over the API is polled within seconds,
its power shows in /metrics (scraped from an HTTP worker, written by the poller's process)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.poe_sim import build_switch
from tests.support.server import start_server, stop_server
from tests.support.snmp_agents import RunningAgent, snmpsim_agent

pytestmark = pytest.mark.snmp

SW = build_switch("served8", 6, 8, "cisco", phones=3, budget_w=30, faults=(8,))


@pytest.fixture
def agent() -> Iterator[RunningAgent]:
    with snmpsim_agent({"served8": SW}) as running:
        yield running


def call(url: str, token: str, body: dict[str, object] | None = None) -> object:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def test_serve_polls_a_switch_added_over_the_api(tmp_path: Path, agent: RunningAgent) -> None:
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'inventory.db'}")
    try:
        made = server.cli("token", "create", "poe-admin", "--role", "admin")
        assert made.returncode == 0, made.stderr
        token = made.stdout.decode().strip()
        api = f"{server.http}/api/v1"
        body = {"name": "served8", "host": "127.0.0.1", "port": agent.port, "vendor": "cisco",
                "community": "served8", "poll_interval": 10}  # fmt: skip
        call(f"{api}/poe/switches", token, body)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (switch,) = call(f"{api}/poe/switches", token)  # type: ignore[misc]
            if switch["last_ok_at"]:
                break
            time.sleep(0.3)
        assert switch["last_ok_at"], switch
        assert switch["active_alerts"] == 1  # port 8's fault
        with urllib.request.urlopen(f"{server.http}/metrics", timeout=10) as response:  # noqa: S310
            scraped = {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(response.read().decode())
                for sample in family.samples
            }
        labels = (("pse", "1"), ("switch", "served8"))
        assert scraped[("provisioner_poe_power_watts", labels)] == SW.consumption_w
        assert scraped[("provisioner_poe_budget_watts", labels)] == 30
        assert scraped[("provisioner_poe_alerts", (("kind", "port_fault"),))] == 1
        assert scraped[("provisioner_poe_poll_seconds_count", (("outcome", "ok"),))] >= 1
    finally:
        stop_server(server)
