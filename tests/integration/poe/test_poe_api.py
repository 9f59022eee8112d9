"""PoE under /api/v1/ and ``provisioner poe``, against snmpsim on loopback.

The API records polls and power-cycles for the service's poller; here the poller is driven by
the test (the crash test runs it inside ``provisioner serve``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.cli import main
from provisioner.db.poe import PoeCycle, PoeSwitch
from provisioner.domain.inventory.devices import create_device
from provisioner.snmp.poller import PoePoller
from tests.support.api import Api, make_api
from tests.support.poe_sim import build_switch
from tests.support.server import TEST_KEY
from tests.support.snmp_agents import V3_AUTH, V3_PRIV, V3_USER, RunningAgent, snmpsim_agent

pytestmark = pytest.mark.snmp

SW = build_switch("bench24", 3, 24, "cisco", phones=6, budget_w=120, faults=(20,))
PHONE = next(mac for mac, n in SW.phones.items() if n == 2)


@pytest.fixture(scope="module")
def agent() -> Iterator[RunningAgent]:
    with snmpsim_agent({"bench24": SW}, det_delay=0.5) as running:
        yield running


@pytest.fixture
def api(service: Service) -> Api:
    with service.db.session() as session:
        for mac in SW.phones:
            create_device(session, service.box, mac=mac, model="GXP2170")
    return make_api(service)


def run_poller(service: Service) -> None:
    """What serve's poller does in one round: polls what is due, finishes open cycles."""

    async def round_() -> None:
        poller = PoePoller(service.db, service.box, check_every=0.2)
        try:
            for switch_id in poller.due():
                await poller.poll_switch(switch_id)
            with service.db.session() as session:
                from provisioner.domain.poe.cycles import open_cycles

                cycles = open_cycles(session)
            for cycle_id in cycles:
                await poller.run_cycle(cycle_id)
        finally:
            poller.close()

    asyncio.run(round_())


def test_switches_ports_alerts_and_power_cycles_over_the_api(api: Api, agent: RunningAgent) -> None:
    body = {"name": "bench24", "host": "127.0.0.1", "port": agent.port, "vendor": "cisco",
            "version": "3", "user": V3_USER, "auth_key": V3_AUTH, "priv_key": V3_PRIV,
            "context": "bench24"}  # fmt: skip
    assert "warehouse" in api.refused("POST", "/poe/switches", 403, role="warehouse", json=body)
    created = api.ok("POST", "/poe/switches", 201, json=body)
    assert created["version"] == "3"
    assert created["site"] == "warehouse bench"
    api.refused("POST", "/poe/switches", 409, json=body)
    tenant = api.ok("POST", "/tenants", 201, json={"name": "acme"})
    at_customer = {**body, "name": "acme-hub", "tenant_id": tenant["id"], "poll_interval": 3600}
    assert api.ok("POST", "/poe/switches", 201, json=at_customer)["site"] == "acme"
    api.refused("POST", "/poe/switches", 404, json={**at_customer, "tenant_id": 999})
    with api.service.db.session() as session:  # not polled in this test
        session.delete(session.scalars(select(PoeSwitch).where(PoeSwitch.name == "acme-hub")).one())
    assert [s["last_ok_at"] for s in api.ok("GET", "/poe/switches")] == [None]
    assert api.ok("POST", "/poe/switches/bench24/actions/poll", 202, role="support")["queued"]
    run_poller(api.service)
    status = api.ok("GET", "/poe/switches/bench24", role="readonly")
    assert status["last_error"] is None
    assert status["pse"] == [
        {"group": 1, "budget_w": 120, "consumption_w": SW.consumption_w, "status": "on"}
    ]
    ports = {p["name"]: p for p in status["ports"]}
    assert ports["Gi1/0/2"]["device"] == PHONE
    assert ports["Gi1/0/2"]["power_w"] == SW.ports[2].mw / 1000
    assert [(a["kind"], a["subject"]) for a in status["alerts"]] == [
        ("port_fault", "bench24 Gi1/0/20")
    ]
    assert api.ok("GET", "/poe/alerts")[0]["kind"] == "port_fault"
    facts = api.ok("GET", f"/devices/{PHONE}/poe", role="readonly")
    assert (facts["label"], facts["present"], facts["alerts"]) == ("bench24 Gi1/0/2", True, [])
    assert facts["power_w"] == round(SW.ports[2].mw / 1000, 1)
    api.refused("GET", "/devices/000b82ffffff/poe", 404)

    path = f"/devices/{PHONE.upper()}/actions/power-cycle"
    for role in ("warehouse", "readonly"):
        assert role in api.refused("POST", path, 403, role=role, json={})
    cycle = api.ok("POST", path, 202, role="support", json={"off_seconds": 2})
    assert (cycle["state"], cycle["port"], cycle["device"]) == ("requested", "Gi1/0/2", PHONE)
    assert cycle["actor"] == "api support"
    assert "being power-cycled" in api.refused("POST", path, 409, json={})
    api.refused("POST", "/poe/switches/bench24/ports/99/actions/power-cycle", 404, json={})
    api.refused("POST", path, 422, json={"off_seconds": 0})
    run_poller(api.service)
    (done,) = api.ok("GET", "/poe/cycles", role="readonly")
    assert done["state"] == "done"
    assert done["detail"] == "delivering power again"
    assert done["off_at"] < done["on_at"] < done["finished_at"]
    assert done["fetched_at"] is None  # the simulated phone fetches nothing
    timeline = api.ok("GET", f"/devices/{PHONE}/timeline", role="support")
    assert [e["detail"] for e in timeline if e["kind"] == "poe"][:2] == [
        f"power-cycle {done['id']} of bench24 Gi1/0/2: delivering power again",
        f"power-cycle {done['id']} of bench24 Gi1/0/2: power on",
    ]
    by_port = api.ok("POST", "/poe/switches/bench24/ports/1.3/actions/power-cycle", 202, json={})
    assert by_port["port"] == "Gi1/0/3"

    with api.service.db.session() as session:
        switch = session.scalars(select(PoeSwitch).where(PoeSwitch.name == "bench24")).one()
        assert V3_AUTH not in (switch.v3_auth_key_encrypted or "")
    for path in ("/poe/switches", "/poe/switches/bench24", "/poe/cycles", "/openapi.json"):
        shown = api.call("GET", path).get_data(as_text=True)
        assert V3_AUTH not in shown
        assert V3_PRIV not in shown


def test_the_cli_adds_polls_shows_and_cycles(service: Service, agent: RunningAgent) -> None:
    db = service.settings.db
    env = {"PROVISIONER_SECRET_KEY": TEST_KEY, "PROVISIONER_SNMP_COMMUNITY": "bench24"}
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(main, [*args[:2], "--db", db, *args[2:]], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    with service.db.session() as session:
        create_device(session, service.box, mac=PHONE, model="KX-HDV230")
    added = cli("poe", "add", "bench24", "--host", "127.0.0.1", "--port", str(agent.port))
    assert "sysObjectID 1.3.6.1.4.1.9.1.1208: vendor profile cisco" in added
    assert "bench24 (cisco, SNMP v2c" in added
    polled = cli("poe", "poll")
    assert "bench24: 24 ports" in polled
    assert f"{PHONE}: seen on bench24 Gi1/0/2" in polled
    assert "alert port_fault: bench24 Gi1/0/20: PoE fault" in polled
    assert "PoE: bench24 Gi1/0/2, deliveringPower" in cli("device", "show", PHONE)
    shown = cli("poe", "status", "bench24")
    assert f"{PHONE} KX-HDV230" in shown
    assert "deliveringPower" in shown
    listed = cli("poe", "list")
    assert "bench24" in listed
    assert f"{SW.consumption_w}/120" in listed
    cycled = cli("poe", "cycle", PHONE, "--off", "2")
    assert "power-cycle 1: done: delivering power again" in cycled
    assert "Gi1/0/2" in cli("poe", "status")
    refused = runner.invoke(main, ["poe", "cycle", "--db", db, "bench24", "Gi1/0/99"], env=env)
    assert refused.exit_code == 1
    assert "no PoE port 'Gi1/0/99'" in refused.output
    with service.db.session() as session:
        assert session.scalars(select(PoeCycle.state)).all() == ["done"]
        assert "bench24" not in json.dumps(
            [s.community_encrypted for s in session.scalars(select(PoeSwitch))]
        )
