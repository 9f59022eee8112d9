"""gateway32 on a carrier that wants its terminals to authenticate (a carrier SIP service, an NTT
home gateway): REGISTER with digest, challenged INVITEs, calls both ways, reload and restart,
a wrong password, and the licence still exact. Real peers: a Kamailio carrier with auth_db, SIPp.
"""

from __future__ import annotations

import time

import pytest

from tests.support.gateway_engine import (
    EXTENSION,
    Issuer,
    RunningGateway,
    gateway_config,
    running_gateway,
    start_gateway,
    stop_gateway,
    write_config,
)
from tests.support.ports import free_udp_port
from tests.support.sip_carrier import Carrier, start_carrier
from tests.support.sip_harness import DID, SipLab

pytestmark = pytest.mark.sip

PASSWORD = "Tr5nk-s3cret!x"
# uac_reg checks every 2 s; a refused REGISTER is tried again 10 to 12 s later
TIMERS = {"register_timer": "2", "register_retry": "10"}


def _registration(carrier: Carrier, password: str = PASSWORD) -> dict[str, object]:
    return {
        "registrar": {"host": carrier.ip, "port": carrier.port},
        "user": DID,
        "password": password,
        "expires": 60,
    }


def _trunk(gw: RunningGateway, registered: bool, timeout: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        trunk: dict[str, object] = gw.status()["trunk"]  # type: ignore[assignment]
        if trunk["registered"] is registered or time.monotonic() > deadline:
            return trunk


def _no_password_in(gw: RunningGateway) -> None:
    logs = [gw.state_dir / "gateway32.log", gw.state_dir / "run" / "kamailio.log"]
    for path in logs:
        assert PASSWORD not in path.read_text(errors="replace"), path
    for command in (("status",), ("status", "--json"), ("metrics",)):
        assert PASSWORD not in gw.cli(*command).stdout


def test_registers_takes_calls_both_ways_and_stays_registered(lab: SipLab, issuer: Issuer) -> None:
    callee = lab.uas("uas_answer.xml")  # the far end of an outbound call
    core = lab.uas("uas_answer.xml")
    pstn, core_out = free_udp_port(), free_udp_port()
    carrier = start_carrier(lab, callee=callee.address, pstn_port=pstn, user=DID,
                            password=PASSWORD)  # fmt: skip
    account = _registration(carrier)
    config = gateway_config(issuer.licence(4), trunk_port=carrier.port,
                            cores=[core.port, core_out], registration=account)  # fmt: skip
    with running_gateway(issuer, config, **TIMERS) as gw:
        trunk = _trunk(gw, registered=True)
        assert trunk["registered"] is True, (trunk, gw.log())
        assert trunk["mode"] == "registration"
        assert int(str(trunk["expires_in"])) > 30
        first = carrier.registers()
        assert [r["auth"] for r in first] == ["no", "yes"], first  # challenged, then answered
        assert f"sip:{DID}@{gw.address}" in first[0]["contact"]
        assert "trunk: registered as" in gw.cli("status").stdout
        assert "gateway32_trunk_registered 1.0" in gw.cli("metrics").stdout

        # the network calls the account: the carrier rings our contact, the core answers
        inbound = lab.uac(carrier.address, "uac_limit.xml", calls=1, service=DID, hold_ms=300,
                          port=pstn)  # fmt: skip
        assert inbound.successful == 1, inbound.describe()
        assert [e["ruri"].split("@")[0] for e in core.stop().events("invite")] == [
            f"sip:{EXTENSION}"
        ]

        # a phone calls out: the carrier's 407 is answered with the account's credentials
        outbound = lab.uac(gw.address, "uac_limit.xml", calls=1, service="0455556666",
                           caller=EXTENSION, hold_ms=300, port=core_out)  # fmt: skip
        assert outbound.successful == 1, outbound.describe()
        invites = carrier.lines("invite")
        assert [i["auth"] for i in invites] == ["no", "yes"], invites
        assert int(invites[1]["cseq"]) == int(invites[0]["cseq"]) + 1
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2)
        assert [(r["direction"], r["result"]) for r in records] == [
            ("inbound", "answered"),
            ("outbound", "answered"),
        ]

        # a reload that leaves the account alone leaves the registration alone
        before = len(carrier.registers())
        write_config(gw.state_dir, {**config, "max_call_seconds": 3600})
        assert gw.cli("reload").returncode == 0
        assert _trunk(gw, registered=True)["registered"] is True
        assert len(carrier.registers()) == before

        # a restarted gateway registers again by itself
        stop_gateway(gw.process)
        gw.process = start_gateway(gw.state_dir, gw.env)
        deadline = time.monotonic() + 30
        while len(carrier.registers()) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        while not (gw.state_dir / "run" / "status.json").exists():
            time.sleep(0.1)
        assert _trunk(gw, registered=True)["registered"] is True, gw.log()
        again = lab.uac(gw.address, "uac_limit.xml", calls=1, service="0455556666",
                        caller=EXTENSION, hold_ms=200, port=core_out)  # fmt: skip
        assert again.successful == 1, again.describe()
        _no_password_in(gw)
    reached = callee.stop().events("invite")
    assert [e["ruri"].split("@")[0] for e in reached] == ["sip:0455556666"] * 2
    assert all(f"sip:{DID}@" in e["pai"] for e in reached)
    assert PASSWORD not in carrier.log()  # digest: the password itself never crossed the wire


def test_a_wrong_password_is_reported_and_retried_slowly(lab: SipLab, issuer: Issuer) -> None:
    callee = lab.uas("uas_answer.xml")
    carrier = start_carrier(lab, callee=callee.address, pstn_port=free_udp_port(), user=DID,
                            password="the-right-one")  # fmt: skip
    account = _registration(carrier)
    config = gateway_config(issuer.licence(4), trunk_port=carrier.port, cores=[free_udp_port()],
                            registration=account)  # fmt: skip
    with running_gateway(issuer, config, **TIMERS) as gw:
        deadline = time.monotonic() + 15
        while not carrier.registers() and time.monotonic() < deadline:
            time.sleep(0.2)
        started = time.monotonic()
        time.sleep(20)
        elapsed = time.monotonic() - started
        trunk = _trunk(gw, registered=False, timeout=0)
        attempts = [r for r in carrier.registers() if r["auth"] == "yes"]
        status = gw.cli("status").stdout
        metrics = gw.cli("metrics").stdout
        _no_password_in(gw)
    assert trunk["registered"] is False
    assert "wrong user or password" in str(trunk["last_error"])
    assert "trunk: NOT REGISTERED" in status
    assert "wrong user or password" in status
    assert "gateway32_trunk_registered 0.0" in metrics  # what an alert rule watches
    # one attempt (a REGISTER and its answer to the challenge) per retry step of >= 10 s:
    # the first at once, then at most one per step; never a storm
    assert 2 <= len(attempts) <= 1 + int(elapsed // 10) + 1, attempts


@pytest.mark.parametrize("channels", [4, 32])
def test_licence_is_exact_under_a_burst_with_trunk_registration_on(
    lab: SipLab, issuer: Issuer, channels: int
) -> None:
    callee = lab.uas("uas_answer.xml")
    core = lab.uas("uas_pbx_fast.xml")
    carrier = start_carrier(lab, callee=callee.address, pstn_port=free_udp_port(), user=DID,
                            password=PASSWORD)  # fmt: skip
    trunk = free_udp_port()  # the carrier's media gateway sends the calls; its registrar is apart
    config = gateway_config(issuer.licence(channels), trunk_port=trunk, cores=[core.port],
                            registration=_registration(carrier))  # fmt: skip
    with running_gateway(issuer, config, **TIMERS) as gw:
        assert _trunk(gw, registered=True)["registered"] is True, gw.log()
        run = lab.uac(gw.address, "uac_limit.xml", calls=1000, rate=2000, limit=1000,
                      hold_ms=8000, port=trunk, seconds=40)  # fmt: skip
        assert run.answered == channels, run.describe()
        assert run.count("486") == 1000 - channels, run.describe()
        assert run.failed == 0, run.describe()
        assert gw.wait_channels(0) == 0
        assert _trunk(gw, registered=True)["registered"] is True
