"""Representative numbers on the PBX core, with real SIPp phones: who rings, and how many calls.

A call to a representative number rings every line set to ring for it and not a FAX port (the
SIPp phones count the INVITEs they got); a tenant with N IDs carries at most N calls on it at
once, the next one gets 486 with Q.850 cause 17 and the channel comes back when a call ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.domain.inventory import devices
from provisioner.pbx.core_config import Peer
from provisioner.pbx.usrloc import representative_calls
from tests.support.pbx_inventory import imported
from tests.support.pbx_support import Core, account_credentials, export, register, start_core
from tests.support.ports import free_port, free_udp_port
from tests.support.sip_harness import SipLab, Sipp

pytestmark = pytest.mark.sip

REP = "0312347777"
DESK, ATA = "000b82cc0001", "000b82cc0002"
ROWS = [
    {"tenant": "rep-co", "extension": "3001", "direct_number": "0312347001",
     "display_name": "Desk", "mac": DESK, "model": "GXP2170", "port": "1",
     "representative_number": REP},
    {"tenant": "rep-co", "extension": "3002", "direct_number": "", "display_name": "Shop",
     "mac": ATA, "model": "HT802", "port": "1"},
    {"tenant": "rep-co", "extension": "3003", "direct_number": "", "display_name": "FAX",
     "mac": ATA, "model": "HT802", "port": "2", "fax": "t38"},
]  # fmt: skip


@pytest.fixture
def inventory(service: Service) -> Service:
    return imported(service, ROWS)


@pytest.fixture
def core(inventory: Service, tmp_path: Path) -> Iterator[tuple[Core, list[int], str]]:
    """The core, trusting two gateway ports (a carrier's calls come in through them), and the
    URL of its JSON-RPC (what serve reads)."""
    gateways, rpc_port = [free_udp_port(), free_udp_port()], free_port()
    db_path = tmp_path / "pbx.sqlite"
    export(inventory, db_path)
    running = start_core(tmp_path, db_path, gateways=tuple(Peer("127.0.0.1", p) for p in gateways),
                         rpc_port=rpc_port)  # fmt: skip
    try:
        yield running, gateways, f"http://127.0.0.1:{rpc_port}/RPC"
    finally:
        running.stop()


def _register(service: Service, core: Core, workdir: Path, extension: str, phone: Sipp) -> None:
    user, password = account_credentials(service, "rep-co", extension)
    assert register(workdir, core.port, user, password, phone.port) == "200"


def test_a_representative_call_rings_the_lines_set_to_ring_and_not_the_fax_port(
    inventory: Service, core: tuple[Core, list[int], str], lab: SipLab, tmp_path: Path
) -> None:
    running, (gateway, _), _rpc = core
    phones = {extension: lab.uas("uas_busy.xml") for extension in ("3001", "3002", "3003")}
    for extension, phone in phones.items():
        _register(inventory, running, tmp_path, extension, phone)
    call = lab.uac(f"127.0.0.1:{running.port}", "uac_expect_error.xml", service=REP, port=gateway)
    assert [f["code"] for f in call.events("final")] == ["486"], call.describe()
    rang = {extension: phone.stop().count("INVITE") for extension, phone in phones.items()}
    assert rang == {"3001": 1, "3002": 1, "3003": 0}  # the FAX port stays silent

    # set to ring, the FAX port rings too (per line: its neighbour on the ATA is unchanged)
    with inventory.db.session() as session:
        ata = devices.get_device(session, ATA)
        fax_line = next(line for line in ata.lines if line.port == 2)
        devices.set_line(session, ata, 2, fax_line.account, "t38", ring_representative=True)
    export(inventory, running.db_path)
    # the same phones again (their registrations stand), with fresh counters
    phones = {extension: lab.uas("uas_busy.xml", port=phone.port)
              for extension, phone in phones.items()}  # fmt: skip
    call = lab.uac(f"127.0.0.1:{running.port}", "uac_expect_error.xml", service=REP, port=gateway)
    assert [f["code"] for f in call.events("final")] == ["486"], call.describe()
    rang = {extension: phone.stop().count("INVITE") for extension, phone in phones.items()}
    assert rang == {"3001": 1, "3002": 1, "3003": 1}


def test_a_representative_number_carries_as_many_calls_as_the_tenant_has_ids(
    inventory: Service, core: tuple[Core, list[int], str], lab: SipLab, tmp_path: Path
) -> None:
    running, (gateway, other_gateway), rpc = core
    desk = lab.uas("uas_ring.xml")  # rings until the caller gives up
    _register(inventory, running, tmp_path, "3001", desk)
    target = f"127.0.0.1:{running.port}"
    held = lab.start_uac(target, "uac_cancel.xml", calls=3, rate=50, service=REP, port=gateway)
    time.sleep(0.5)  # three IDs: three calls ring the desk phone for a second
    # what serve's poller reads for provisioner_representative_calls{tenant}
    assert representative_calls(rpc, ["rep-co"]) == {"rep-co": 3}
    refused = lab.uac(target, "uac_expect_error.xml", service=REP, port=other_gateway)
    finals = refused.events("final")
    assert [f["code"] for f in finals] == ["486"], refused.describe()
    assert "Q.850;cause=17" in finals[0]["reason"]
    done = held.wait(timeout=30)
    assert done.successful == 3, done.describe()
    assert representative_calls(rpc, ["rep-co"]) == {"rep-co": 0}
    assert done.count("486") == 0
    # the calls ended: their channels are back
    again = lab.uac(target, "uac_cancel.xml", service=REP, port=other_gateway)
    assert again.successful == 1, again.describe()
    assert again.count("486") == 0
    assert "REPRESENTATIVE_FULL tenant=rep-co number=0312347777 calls=3" in running.log.read_text()
