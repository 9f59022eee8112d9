"""Two PBX cores, the primary stopped: a phone set up from its rendered file's failover
parameters registers on the secondary (issue 19, "Done when" item 2).

The SIPp phone does what the file tells a GXP2170: register at the SIP server
(``account.1.sip.server.1.address``) and, when that one does not answer, at the secondary
(``account.1.sip.server.2.address``), with the credentials and expiry of the same file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.settings import Settings
from tests.support.pbx_support import Core, export, register, start_core
from tests.support.ports import free_udp_port
from tests.support.server import TEST_KEY

pytestmark = pytest.mark.sip

PHONE_MAC = "000b82bb0001"  # the GXP2170 of acme's 2001 (tests/support/pbx_inventory.py)


@pytest.fixture
def core_ports() -> tuple[int, int]:
    return free_udp_port(), free_udp_port()


@pytest.fixture
def settings(tmp_path: Path, core_ports: tuple[int, int]) -> Settings:
    primary, secondary = core_ports
    return Settings(
        db=f"sqlite:///{tmp_path / 'inventory.db'}",
        secret_key=TEST_KEY,
        pbx_core=f"127.0.0.1:{primary},127.0.0.1:{secondary}",
    )


@pytest.fixture
def cores(
    pbx_inventory: Service, tmp_path: Path, core_ports: tuple[int, int]
) -> Iterator[tuple[Core, Core]]:
    """Both cores on one exported subscriber table, each in its own directory."""
    db_path = tmp_path / "pbx.sqlite"
    export(pbx_inventory, db_path)
    started: list[Core] = []
    try:
        for name, port in zip(("primary", "secondary"), core_ports, strict=True):
            (tmp_path / name).mkdir()
            started.append(start_core(tmp_path / name, db_path, port=port))
        yield started[0], started[1]
    finally:
        for core in started:
            core.stop()


def failover_plan(service: Service) -> tuple[list[int], str, str, int]:
    """The servers in the order the file gives them, the credentials, the expiry (seconds)."""
    config = ET.fromstring(service.provisioner.preview(PHONE_MAC)).find("config")
    assert config is not None
    values = {item.get("name") or "": item.text or "" for item in config}  # GXP21xx: aliases
    servers = [values[f"account.1.sip.server.{n}.address"] for n in (1, 2)]
    assert all(server.startswith("127.0.0.1:") for server in servers), servers
    ports = [int(server.rsplit(":", 1)[1]) for server in servers]
    account = (values["account.1.sip.userid"], values["account.1.sip.subscriber.password"])
    return ports, *account, int(values["account.1.sip.registerExpiration"]) * 60


def register_in_order(
    workdir: Path, ports: list[int], user: str, password: str, expires: int
) -> list[tuple[int, str]]:
    """Each server in turn until one answers 200, as the phone fails over: (port, outcome)."""
    tried = []
    for port in ports:
        outcome = register(workdir, port, user, password, 5999, expires=expires, timeout=4)
        tried.append((port, outcome))
        if outcome == "200":
            break
    return tried


def test_the_phone_registers_on_the_secondary_when_the_primary_is_stopped(
    pbx_inventory: Service, cores: tuple[Core, Core], core_ports: tuple[int, int], tmp_path: Path
) -> None:
    primary, secondary = cores
    ports, user, password, expires = failover_plan(pbx_inventory)
    assert ports == list(core_ports)  # primary first, then the failover core
    assert register_in_order(tmp_path, ports, user, password, expires) == [(primary.port, "200")]
    primary.stop()
    tried = register_in_order(tmp_path, ports, user, password, expires)
    assert tried == [(primary.port, "no answer"), (secondary.port, "200")]
