"""The service dies between "off" and "on"; started again, it turns the port back on.

``provisioner serve`` (a real process, its PoE poller inside) takes a recorded power-cycle and
cuts the port's power on snmpsim's ``poesim`` switch; it is SIGKILLed while the port is off.
The port stays dark without it (RFC 3621 keeps the admin state). The restarted service finds
the cycle's lease run out, takes it over and finishes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent
from provisioner.db.poe import PoeCycle
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe import switches as poe_switches
from tests.integration.poe.test_poe import add_phones, add_switch, agent_admin, poll
from tests.support.poe_sim import build_switch
from tests.support.server import TEST_KEY
from tests.support.snmp_agents import RunningAgent, snmpsim_agent
from tests.support.waiting import wait_until

pytestmark = pytest.mark.snmp

SW = build_switch("crash8", 4, 8, "cisco", phones=4, budget_w=60)
PORT = 3


@pytest.fixture
def agent() -> Iterator[RunningAgent]:
    with snmpsim_agent({"crash8": SW}, det_delay=0.5) as running:
        yield running


def start_service(workdir: Path, db_url: str) -> subprocess.Popen[bytes]:
    """``provisioner serve`` with only its PoE poller, in a process group of its own."""
    env = {**os.environ, "PROVISIONER_DB": db_url, "PROVISIONER_SECRET_KEY": TEST_KEY,
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    log = (workdir / "serve.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--no-http", "--no-tftp"],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def test_a_killed_service_finishes_the_cycle_when_it_starts_again(
    service: Service, agent: RunningAgent, tmp_path: Path
) -> None:
    add_phones(service, SW)
    add_switch(service, "crash8", agent.port, "cisco", community="crash8")
    poll(service)
    with service.db.session() as session:
        port = poe_cycles.find_port(poe_switches.get_switch(session, "crash8"), str(PORT))
        cycle_id = poe_cycles.request_cycle(session, port, "test", off_seconds=4).id

    def state() -> str:
        with service.db.session() as session:
            return poe_cycles.get_cycle(session, cycle_id).state

    first = start_service(tmp_path, service.settings.db)
    try:
        assert wait_until(lambda: agent_admin(agent, "crash8", PORT) == 2, 30, interval=0.2), (
            "power cut: not within 30 s"
        )
        assert wait_until(lambda: state() == poe_cycles.CycleState.OFF, 10, interval=0.2), (
            "off recorded: not within 10 s"
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    with service.db.session() as session:
        cycle = session.get(PoeCycle, cycle_id)
        assert cycle is not None
        assert cycle.lease_owner  # held by the dead process
        off_at = cycle.off_at
    assert off_at is not None
    time.sleep(5)  # past the off time: nobody turns it on
    assert agent_admin(agent, "crash8", PORT) == 2
    assert state() == poe_cycles.CycleState.OFF

    second = start_service(tmp_path, service.settings.db)
    try:
        assert wait_until(lambda: state() == poe_cycles.CycleState.DONE, 45, interval=0.2), (
            "cycle finished: not within 45 s"
        )
        assert agent_admin(agent, "crash8", PORT) == 1
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        finally:
            if second.poll() is None:
                os.killpg(second.pid, signal.SIGKILL)
    assert second.returncode == 0, (tmp_path / "serve.log").read_text()
    with service.db.session() as session:
        cycle = session.get(PoeCycle, cycle_id)
        assert cycle is not None
        assert cycle.lease_owner is None
        device = session.scalar(select(Device).where(Device.id == cycle.device_id))
        assert device is not None
        details = session.scalars(
            select(DeviceEvent.detail)
            .where(DeviceEvent.device_id == device.id, DeviceEvent.kind == "poe")
            .order_by(DeviceEvent.id)
        ).all()
    prefix = f"power-cycle {cycle_id} of crash8 Gi1/0/{PORT}"
    assert details[1:] == [
        f"{prefix} requested",
        f"{prefix}: power off",
        f"{prefix}: power on",
        f"{prefix}: delivering power again",
    ]
