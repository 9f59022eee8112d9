"""PoE monitoring against real SNMP agents on loopback: snmpsim and Net-SNMP snmpd.

A generated 24-port (Cisco layout) and 48-port (HP layout) switch with phones in their
forwarding and LLDP tables; the 48-port one also feeds a desk switch whose port carries the
24-port switch's phones, which the join must not take for their port. v2c and v3 authPriv.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent
from provisioner.db.poe import PoeCycle, PoeLocation, PoePort, PoeSwitch
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.inventory.devices import create_device
from provisioner.domain.poe import alerts as poe_alerts
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe import switches as poe_switches
from provisioner.domain.staging import bench_view
from provisioner.metrics import exposition
from provisioner.snmp.poller import PoePoller, PollResult
from provisioner.snmp.profiles import PROFILES
from tests.support.poe_sim import SimSwitch, build_switch
from tests.support.ports import free_udp_port
from tests.support.snmp_agents import (
    RW_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    RunningAgent,
    snmpd_agent,
    snmpsim_agent,
)

pytestmark = pytest.mark.snmp

SW24 = build_switch("sw24", 1, 24, "cisco", phones=18, budget_w=370, faults=(22,), disabled=(24,))
SW48 = build_switch(
    "sw48", 2, 48, "hp", phones=40, budget_w=200, faults=(45,), downstream_port=47,
    downstream_macs=tuple(SW24.phones),
)  # fmt: skip


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[RunningAgent]:
    with snmpsim_agent({"sw24": SW24, "sw48": SW48}) as agent:
        yield agent


@pytest.fixture(scope="module")
def snmpd() -> Iterator[RunningAgent]:
    with snmpd_agent(SW48) as agent:
        yield agent


def add_phones(service: Service, *sims: SimSwitch) -> None:
    with service.db.session() as session:
        for sim in sims:
            for mac in sim.phones:
                model = "KX-HDV230" if mac.startswith("0080f0") else "GXP2170"
                create_device(session, service.box, mac=mac, model=model)


def _phone_on(sim: SimSwitch, port: int) -> str:
    return next(mac for mac, index in sim.phones.items() if index == port)


def add_switch(service: Service, name: str, port: int, vendor: str, **access: Any) -> None:
    with service.db.session() as session:
        new = poe_switches.NewSwitch(name=name, host="127.0.0.1", port=port, vendor=vendor,
                                     **access)  # fmt: skip
        poe_switches.add_switch(session, service.box, new, tuple(PROFILES))


V3 = {"version": "3", "user": V3_USER, "auth_key": V3_AUTH, "priv_key": V3_PRIV}


def poll(service: Service, *names: str, **options: Any) -> list[PollResult]:
    async def run() -> list[PollResult]:
        poller = PoePoller(service.db, service.box, **options)
        try:
            return await poller.poll(list(names) or None)
        finally:
            poller.close()

    return asyncio.run(run())


def locations(service: Service) -> dict[str, tuple[str, int]]:
    """Device MAC -> (switch, PSE port index) as the inventory has it."""
    with service.db.session() as session:
        rows = session.execute(
            select(Device.mac, PoeSwitch.name, PoePort.index)
            .join(PoeLocation, PoeLocation.device_id == Device.id)
            .join(PoePort, PoePort.id == PoeLocation.port_id)
            .join(PoeSwitch, PoeSwitch.id == PoePort.switch_id)
            .where(PoeLocation.present.is_(True))
        )
        return {mac: (switch, index) for mac, switch, index in rows}


def active_kinds(service: Service) -> set[tuple[str, str]]:
    with service.db.session() as session:
        return {(a.kind, a.subject) for a in poe_alerts.active_alerts(session)}


def test_every_phone_is_on_its_port_and_uplinks_are_skipped(
    service: Service, snmpsim: RunningAgent
) -> None:
    add_phones(service, SW24, SW48)
    add_switch(service, "sw24", snmpsim.port, "cisco", community="sw24")
    add_switch(service, "sw48", snmpsim.port, "hp", context="sw48", **V3)
    results = poll(service)
    assert [(r.switch, r.ok, r.ports) for r in results] == [("sw24", True, 24), ("sw48", True, 48)]
    expected = {mac: ("sw24", n) for mac, n in SW24.phones.items()}
    expected |= {mac: ("sw48", n) for mac, n in SW48.phones.items()}
    assert locations(service) == expected  # 58 phones, none on sw48's port 47
    with service.db.session() as session:
        ports = {p.switch.name + " " + p.name: p for p in session.scalars(select(PoePort))}
        assert ports["sw48 47"].uplink  # 38 MACs and a bridge neighbour
        assert ports["sw48 47"].device_id is None
        assert not ports["sw24 Gi1/0/1"].uplink  # a phone with a PC: two MACs, still a phone
        assert ports["sw24 Gi1/0/5"].power_mw == SW24.ports[5].mw  # Cisco mW column
        assert ports["sw48 7"].power_mw == SW48.ports[7].mw  # HP mW column, PSE index=ifIndex
        assert ports["sw24 Gi1/0/5"].power_class == 2
        assert ports["sw24 Gi1/0/24"].detection == "disabled"
        first = session.scalar(select(Device).where(Device.mac == next(iter(SW24.phones))))
        assert first is not None
        seen = session.scalars(select(DeviceEvent.detail).where(
            DeviceEvent.device_id == first.id, DeviceEvent.kind == "poe"))  # fmt: skip
        assert list(seen) == ["seen on sw24 Gi1/0/1"]
        # The staging bench shows the same port (its PoE fact provider).
        fifth = session.scalar(select(Device).where(Device.mac == _phone_on(SW24, 5)))
        assert fifth is not None
        cell = bench_view.poe_facts(session, [fifth])[fifth.id].poe_port
        watts = round(SW24.ports[5].mw / 1000, 1)
        assert cell == f"sw24 Gi1/0/5, {ports['sw24 Gi1/0/5'].detection}, {watts} W"
    # Polled again: nothing moved, so nothing new on the timelines.
    assert all(not r.events for r in poll(service))


def test_alerts_fire_on_the_fault_and_the_budget(service: Service, snmpsim: RunningAgent) -> None:
    add_switch(service, "sw24", snmpsim.port, "cisco", community="sw24")
    add_switch(service, "sw48", snmpsim.port, "hp", community="sw48")
    poll(service)
    assert SW48.consumption_w > 0.9 * SW48.budget_w > 0.9 * 0  # the simulated over-budget PSE
    assert active_kinds(service) == {
        ("port_fault", "sw24 Gi1/0/22"),
        ("port_fault", "sw48 45"),
        ("pse_budget", "sw48 PSE 1"),
    }
    scraped = exposition().decode()
    assert 'provisioner_poe_power_watts{pse="1",switch="sw48"}' in scraped
    assert f'provisioner_poe_budget_watts{{pse="1",switch="sw24"}} {SW24.budget_w}.0' in scraped
    assert 'provisioner_poe_ports{status="fault",switch="sw24"} 1.0' in scraped
    assert 'provisioner_poe_alerts{kind="pse_budget"} 1.0' in scraped


@pytest.mark.parametrize("version", ["2c", "3"])
def test_snmpd_agent_gives_the_same_join(
    service: Service, snmpd: RunningAgent, version: str
) -> None:
    add_phones(service, SW48)
    access = V3 if version == "3" else {"community": RW_COMMUNITY}
    add_switch(service, "sw48", snmpd.port, "hp", **access)
    (result,) = poll(service)
    assert result.ok, result.error
    assert result.varbinds > 600
    assert locations(service) == {mac: ("sw48", n) for mac, n in SW48.phones.items()}
    assert ("pse_budget", "sw48 PSE 1") in active_kinds(service)


def test_a_switch_that_does_not_answer_is_an_alert_and_keeps_its_other_alerts(
    service: Service, snmpsim: RunningAgent
) -> None:
    add_switch(service, "sw24", snmpsim.port, "cisco", community="sw24")
    poll(service)
    with service.db.session() as session:
        poe_switches.get_switch(session, "sw24").port = free_udp_port()  # nobody there
    (result,) = poll(service, timeout=0.3, retries=0)
    assert not result.ok
    assert "No SNMP response" in (result.error or "")
    assert active_kinds(service) == {
        ("port_fault", "sw24 Gi1/0/22"),  # not known to be fixed
        ("switch_unreachable", "sw24"),
    }
    with service.db.session() as session:
        poe_switches.get_switch(session, "sw24").port = snmpsim.port
    poll(service)
    assert active_kinds(service) == {("port_fault", "sw24 Gi1/0/22")}


def agent_admin(agent: RunningAgent, community: str, index: int) -> int:
    """pethPsePortAdminEnable.1.<index> as Net-SNMP's snmpget reads it."""
    answer = subprocess.run(
        ["snmpget", "-v2c", "-c", community, "-Oqv", f"127.0.0.1:{agent.port}",
         f".1.3.6.1.2.1.105.1.1.1.3.1.{index}"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return int(answer.stdout.strip())


def test_power_cycle_off_wait_on_and_back_on_the_timeline(
    service: Service, snmpsim: RunningAgent
) -> None:
    add_phones(service, SW24)
    add_switch(service, "sw24", snmpsim.port, "cisco", community="sw24")
    poll(service)
    mac = next(m for m, n in SW24.phones.items() if n == 5)
    with service.db.session() as session:
        port = poe_cycles.port_of_device(session, mac)
        cycle_id = poe_cycles.request_cycle(session, port, "test", off_seconds=2).id
        with pytest.raises(Conflict, match="being power-cycled already"):
            poe_cycles.request_cycle(session, port, "test")
        with pytest.raises(Invalid, match="off time"):
            poe_cycles.request_cycle(session, port, "test", off_seconds=1)

    async def run() -> tuple[str, list[int]]:
        poller = PoePoller(service.db, service.box, check_every=0.2)
        seen: list[int] = []

        async def watch() -> None:
            while True:
                seen.append(agent_admin(snmpsim, "sw24", 5))
                await asyncio.sleep(0.3)

        watcher = asyncio.create_task(watch())
        try:
            return await poller.run_cycle(cycle_id), seen
        finally:
            watcher.cancel()
            poller.close()

    state, seen = asyncio.run(run())
    assert state == "done"
    assert 2 in seen  # it really was off
    assert agent_admin(snmpsim, "sw24", 5) == 1
    with service.db.session() as session:
        cycle = session.get(PoeCycle, cycle_id)
        assert cycle is not None
        assert cycle.off_at
        assert cycle.on_at
        assert cycle.finished_at
        assert (cycle.on_at - cycle.off_at).total_seconds() >= 2
        device = session.scalar(select(Device).where(Device.mac == mac))
        assert device is not None
        details = list(session.scalars(select(DeviceEvent.detail).where(
            DeviceEvent.device_id == device.id, DeviceEvent.kind == "poe"
        ).order_by(DeviceEvent.id)))  # fmt: skip
    prefix = f"power-cycle {cycle_id} of sw24 Gi1/0/5"
    assert details == [
        "seen on sw24 Gi1/0/1".replace("1/0/1", "1/0/5"),
        f"{prefix} requested",
        f"{prefix}: power off",
        f"{prefix}: power on",
        f"{prefix}: delivering power again",
    ]


def test_tplink_units_and_index_and_a_bridge_mib_only_switch(service: Service) -> None:
    """TP-Link: watts in 0.1 W indexed by port number, ports found by name (ifIndex 49152+n);
    forwarding entries only in BRIDGE-MIB (no Q-BRIDGE table)."""
    sim = build_switch("tp16", 5, 16, "tplink", phones=10, budget_w=150, bridge_mib=True)
    add_phones(service, sim)
    with snmpd_agent(sim) as agent:
        add_switch(service, "tp16", agent.port, "tplink", community=RW_COMMUNITY)
        (result,) = poll(service)
    assert result.ok, result.error
    assert locations(service) == {mac: ("tp16", n) for mac, n in sim.phones.items()}
    with service.db.session() as session:
        ports = {p.index: p for p in poe_switches.get_switch(session, "tp16").ports}
    assert ports[3].ifindex == 49155
    assert ports[3].name == "gigabitEthernet 1/0/3"
    assert ports[3].power_mw == sim.ports[3].mw // 100 * 100
    assert ports[12].power_mw == 0


class CountingBulk:
    """pysnmp's GETBULK generator, counting requests sent and not yet answered."""

    def __init__(self, real: Any) -> None:
        self.real, self.outstanding, self.most = real, 0, 0

    def send_varbinds(self, *args: Any) -> Any:
        *head, callback = args

        def answered(*answer: Any) -> None:
            self.outstanding -= 1
            callback(*answer)

        self.outstanding += 1
        self.most = max(self.most, self.outstanding)
        return self.real.send_varbinds(*head, answered)


def test_requests_in_flight_are_bounded(
    snmpsim: RunningAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provisioner.snmp import client as client_module
    from provisioner.snmp.snapshot import IF_NAME

    counting = CountingBulk(client_module._BULK)
    monkeypatch.setattr(client_module, "_BULK", counting)

    async def run() -> list[dict[str, Any]]:
        client = client_module.SnmpClient(max_in_flight=4, max_varbinds=5)
        agent = client_module.Agent(
            "127.0.0.1", snmpsim.port, client_module.Credentials("2c", community="sw48")
        )
        try:
            return await asyncio.gather(*(client.walk(agent, [IF_NAME]) for _ in range(30)))
        finally:
            client.close()

    walks = asyncio.run(run())
    assert counting.most == 4  # 30 walks of 10 requests each, never more than 4 at once
    assert all(len(walk[IF_NAME]) == 49 for walk in walks)  # 48 ports and the uplink
