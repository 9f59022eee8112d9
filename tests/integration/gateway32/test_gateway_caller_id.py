"""The caller ID a customer chose, on the wire: phone -> PBX core -> gateway32 -> carrier.

Real peers: SIPp phones place calls through the Kamailio PBX core (its tables from the export),
the core hands them to the real ``gateway32 run``, and a SIPp carrier logs what arrives: From,
P-Asserted-Identity and Privacy. 184 withholds the number for one call, 186 presents it,
and an emergency number always shows one the carrier can call back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.domain.inventory import devices
from provisioner.pbx.core_config import Peer
from tests.support.gateway_engine import Issuer, gateway_config, running_gateway
from tests.support.pbx_support import Core, account_credentials, call_out, export, start_core
from tests.support.ports import free_udp_port
from tests.support.sip_harness import SipLab

pytestmark = pytest.mark.sip

# pbx_inventory: acme 2001 (direct 0312345001, on a GXP2170 of representative 0312340000),
# acme 2002 (no number of its own, on an HT802)
DIRECT, REPRESENTATIVE, DEFAULT = "0312345001", "0312340000", "0312349999"
PORTED = {DIRECT: "2001", REPRESENTATIVE: REPRESENTATIVE, DEFAULT: "2001"}
TAROS_PHONE = "000b82bb0001"


def _choose(service: Service, caller_id: str) -> None:
    with service.db.session() as session:
        devices.update_device(
            session, devices.get_device(session, TAROS_PHONE), caller_id=caller_id
        )


@pytest.fixture
def core(pbx_inventory: Service, tmp_path: Path) -> Iterator[tuple[Core, int]]:
    """The PBX core trusting a gateway port chosen up front, on the freshly exported tables."""
    gateway_port = free_udp_port()
    db_path = tmp_path / "pbx.sqlite"
    export(pbx_inventory, db_path)
    running = start_core(
        tmp_path, db_path, gateways=(Peer("127.0.0.1", gateway_port, tenant="acme"),)
    )
    try:
        yield running, gateway_port
    finally:
        running.stop()


def test_each_line_shows_its_choice_and_184_186_work_per_call(
    pbx_inventory: Service, core: tuple[Core, int], lab: SipLab, issuer: Issuer, tmp_path: Path
) -> None:
    running, gateway_port = core
    carrier = lab.uas("uas_answer.xml")
    config = gateway_config(issuer.licence(4), trunk_port=carrier.port, cores=[running.port],
                            numbers=PORTED, default_caller_id=DEFAULT)  # fmt: skip
    taro = account_credentials(pbx_inventory, "acme", "2001")
    hanako = account_credentials(pbx_inventory, "acme", "2002")
    calls = [(taro, "0455556666"), (taro, "1840455556666"), (taro, "1860455556666"),
             (taro, "184110"), (hanako, "0455556667")]  # fmt: skip
    with running_gateway(issuer, config, sip_port=gateway_port) as gw:
        for (user, password), number in calls:  # Taro's phone presents its direct number
            assert call_out(tmp_path, running.port, user, password, number) == "200", gw.log()
        _choose(pbx_inventory, REPRESENTATIVE)  # now it presents the representative number
        export(pbx_inventory, running.db_path)  # the core reads its tables on every call
        assert call_out(tmp_path, running.port, *taro, "0455556668") == "200", gw.log()
        assert gw.wait_channels(0) == 0
    seen = carrier.stop().events("invite")
    assert [e["ruri"].split("@")[0] for e in seen] == [
        "sip:0455556666", "sip:0455556666", "sip:0455556666", "sip:110", "sip:0455556667",
        "sip:0455556668",
    ]  # the 184/186 prefix never reaches the carrier  # fmt: skip
    direct, withheld, presented, emergency, no_number, representative = seen
    assert f"sip:{DIRECT}@" in direct["from"]
    assert f"sip:{DIRECT}@" in direct["pai"]
    assert not direct["privacy"]
    # 184: Privacy id, an anonymous From, the number kept in PAI for the carrier only
    assert withheld["privacy"] == "id"
    assert "anonymous.invalid" in withheld["from"]
    assert DIRECT not in withheld["from"]
    assert f"sip:{DIRECT}@" in withheld["pai"]
    assert f"sip:{DIRECT}@" in presented["from"]
    assert not presented["privacy"]
    # 184 110: an emergency call always presents a number that can be called back
    assert f"sip:{DIRECT}@" in emergency["from"]
    assert not emergency["privacy"]
    # a line without a number of its own: the tenant's default
    assert f"sip:{DEFAULT}@" in no_number["from"]
    # the phone set to the representative number presents it (a number ported here)
    assert f"sip:{REPRESENTATIVE}@" in representative["from"]
    assert f"sip:{REPRESENTATIVE}@" in representative["pai"]
