"""PoE readings joined to the inventory and switch settings, on readings made by hand (no agent)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provisioner.app.service import Service
from provisioner.db.poe import PoeSwitch
from provisioner.domain.errors import Invalid
from provisioner.domain.inventory.devices import create_device
from provisioner.domain.poe import alerts as poe_alerts
from provisioner.domain.poe import switches as poe_switches
from provisioner.domain.poe.ingest import record_reading
from provisioner.domain.poe.readings import PortReading, SwitchReading
from provisioner.domain.poe.status import bench_poe
from provisioner.snmp.profiles import PROFILES


def reading(ports: list[PortReading]) -> SwitchReading:
    return SwitchReading(tuple(ports), (), 0.01, 10)


def port(index: int, macs: tuple[str, ...] = (), detection: str = "deliveringPower") -> PortReading:
    return PortReading(1, index, index, f"Gi1/0/{index}", True, detection, 2, 4000, True, macs)


def test_moves_dark_devices_and_poe_only_phones_without_power(service: Service) -> None:
    """The join and the alerts on readings made by hand: what an agent cannot easily show."""
    panasonic, grandstream = "0080f0000001", "000b82000002"
    with service.db.session() as session:
        create_device(session, service.box, mac=panasonic, model="KX-HDV230")
        create_device(session, service.box, mac=grandstream, model="GXP2170")
        new = poe_switches.NewSwitch(name="bench", host="127.0.0.1", vendor="cisco", community="c")
        switch = poe_switches.add_switch(session, service.box, new, tuple(PROFILES))
        switch_id = switch.id

    def step(ports: list[PortReading]) -> tuple[list[str], set[tuple[str, str]]]:
        with service.db.session() as session:
            switch = session.get(PoeSwitch, switch_id)
            assert switch is not None
            moves = record_reading(session, switch, reading(ports))
            poe_alerts.reconcile(session, switch, poe_alerts.findings(session, switch))
            kinds = {(a.kind, a.subject) for a in poe_alerts.active_alerts(session)}
            return [m.detail for m in moves], kinds

    moves, alerts = step([port(1, (panasonic,)), port(2, (grandstream,)), port(3)])
    assert moves == ["seen on bench Gi1/0/1", "seen on bench Gi1/0/2"]
    assert alerts == set()
    moves, _ = step([port(1), port(2), port(3, (grandstream,))])
    assert moves == ["moved from bench Gi1/0/2 to bench Gi1/0/3",
                     "no longer seen on bench Gi1/0/1"]  # fmt: skip
    _, alerts = step([port(1, detection="searching"), port(2), port(3, (grandstream,))])
    assert alerts == {
        ("device_dark", f"{panasonic} on bench Gi1/0/1"),
        ("poe_only_unpowered", f"{panasonic} on bench Gi1/0/1"),
    }
    with service.db.session() as session:
        facts = bench_poe(session, [panasonic, grandstream, "000b82ffffff"])
    assert set(facts) == {panasonic, grandstream}
    assert facts[grandstream].label == "bench Gi1/0/3"
    assert facts[grandstream].power_w == 4.0
    assert facts[grandstream].alerts == ()
    assert not facts[panasonic].present
    assert facts[panasonic].detection == "searching"
    assert sorted(a.split(":")[0] for a in facts[panasonic].alerts) == [
        "device_dark", "poe_only_unpowered"]  # fmt: skip
    many = tuple(f"02000000{i:04x}" for i in range(9))
    moves, alerts = step([port(1, (panasonic,)), port(2, (grandstream, *many)), port(3)])
    # The Grandstream is behind an uplink now: not on a port of its own any more.
    assert moves == ["back on bench Gi1/0/1", "no longer seen on bench Gi1/0/3"]
    assert alerts == {("device_dark", f"{grandstream} on bench Gi1/0/3")}


def test_snmp_secrets_are_encrypted_at_rest(service: Service) -> None:
    with service.db.session() as session:
        poe_switches.add_switch(session, service.box, poe_switches.NewSwitch(
            name="v3", host="192.0.2.1", vendor="hp", version="3", user="u",
            auth_key="auth-secret-1", priv_key="priv-secret-2"), tuple(PROFILES))  # fmt: skip
        poe_switches.add_switch(session, service.box, poe_switches.NewSwitch(
            name="v2", host="192.0.2.2", vendor="hp", community="comm-secret-3"),
            tuple(PROFILES))  # fmt: skip
    raw = b"".join(path.read_bytes() for path in service_db_files(service))
    for secret in (b"auth-secret-1", b"priv-secret-2", b"comm-secret-3"):
        assert secret not in raw
    with service.db.session() as session:
        shown = repr(poe_switches.access(service.box, poe_switches.get_switch(session, "v3")))
        assert "auth-secret-1" not in shown
        assert poe_switches.access(service.box, poe_switches.get_switch(session, "v2")) == (
            dataclasses.replace(poe_switches.SnmpAccess("192.0.2.2", 161, "2c"),
                                community="comm-secret-3")
        )  # fmt: skip


def service_db_files(service: Service) -> list[Any]:
    from pathlib import Path

    database = Path(service.db.engine.url.database or "")
    return [p for p in database.parent.glob(database.name + "*") if p.is_file()]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("host", "bad host!", "not a host name"),
        ("vendor", "juniper", "vendor profile"),
        ("community", "", "needs a community"),
        ("poll_interval", 1, "poll interval"),
        ("port_map", {"x": 1}, "port map entry"),
    ],
)
def test_bad_switch_settings_are_refused(
    service: Service, field: str, value: Any, message: str
) -> None:
    new = poe_switches.NewSwitch(name="s", host="127.0.0.1", vendor="hp", community="c")
    with service.db.session() as session, pytest.raises(Invalid, match=message):
        poe_switches.add_switch(
            session, service.box, dataclasses.replace(new, **{field: value}), tuple(PROFILES)
        )
