"""Desk phone first, on the PBX core with real SIPp phones: an account registered from a desk
phone of the inventory and from a smartphone app rings only the desk phone while that
registration lives, and the app once the desk phone is gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.pbx.core_config import Peer
from tests.support.pbx_support import Core, account_credentials, export, register, start_core
from tests.support.ports import free_udp_port
from tests.support.sip_harness import SipLab, Sipp

pytestmark = pytest.mark.sip

# pbx_inventory: acme 2001 (direct 0312345001) is line 1 of the GXP2170 000b82bb0001
DIRECT = "0312345001"
DESK_UA = "Grandstream Model HW GXP2170 SW 1.0.11.3 DevId 000b82bb0001"
APP_UA = "03plus-app/2.1 (iPhone; 000b82bb0003)"  # another device's MAC: still an app


@pytest.fixture
def core(pbx_inventory: Service, tmp_path: Path) -> Iterator[tuple[Core, int]]:
    gateway = free_udp_port()
    db_path = tmp_path / "pbx.sqlite"
    export(pbx_inventory, db_path)
    running = start_core(tmp_path, db_path, gateways=(Peer("127.0.0.1", gateway),))
    try:
        yield running, gateway
    finally:
        running.stop()


def _ring(lab: SipLab, running: Core, gateway: int, desk: Sipp, app: Sipp) -> dict[str, int]:
    """One call to the account's number; which of the two phones got the INVITE."""
    call = lab.uac(f"127.0.0.1:{running.port}", "uac_expect_error.xml", service=DIRECT,
                   port=gateway)  # fmt: skip
    assert [f["code"] for f in call.events("final")] == ["486"], call.describe()
    return {"desk": desk.stop().count("INVITE"), "app": app.stop().count("INVITE")}


def test_the_desk_phone_rings_alone_while_registered_then_the_app(
    pbx_inventory: Service, core: tuple[Core, int], lab: SipLab, tmp_path: Path
) -> None:
    running, gateway = core
    user, password = account_credentials(pbx_inventory, "acme", "2001")
    desk, app = lab.uas("uas_busy.xml"), lab.uas("uas_busy.xml")
    for phone, agent in ((desk, DESK_UA), (app, APP_UA)):
        assert register(tmp_path, running.port, user, password, phone.port,
                        user_agent=agent) == "200"  # fmt: skip
    assert _ring(lab, running, gateway, desk, app) == {"desk": 1, "app": 0}

    # the desk phone unregisters (unplugged, rebooting): the app rings
    assert register(tmp_path, running.port, user, password, desk.port, expires=0,
                    user_agent=DESK_UA) == "200"  # fmt: skip
    desk, app = lab.uas("uas_busy.xml", port=desk.port), lab.uas("uas_busy.xml", port=app.port)
    assert _ring(lab, running, gateway, desk, app) == {"desk": 0, "app": 1}
