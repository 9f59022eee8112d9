"""gateway32's call paths with real SIPp peers: every way a call ends gives its channel back,
cores fail over, outbound calls carry the ported number, emergency calls reach the trunk."""

from __future__ import annotations

import time

import pytest

from tests.support.gateway_engine import (
    EXTENSION,
    Issuer,
    RunningGateway,
    gateway_config,
    running_gateway,
    stop_gateway,
    write_config,
)
from tests.support.ports import free_udp_port
from tests.support.sip_harness import DID, SipLab

pytestmark = pytest.mark.sip


def _only(records: list[dict[str, object]], **expected: object) -> dict[str, object]:
    assert len(records) == 1, records
    record = records[0]
    for name, value in expected.items():
        assert record[name] == value, (name, record)
    return record


def _cores_up(gw: RunningGateway, expected: int, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (status := gw.status())["cores_up"] != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return status


def test_channels_come_back_after_bye_from_either_side(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    hanging_up_core = lab.uas("uas_bye.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as gw:
        run = lab.uac(gw.address, "uac_limit.xml", calls=4, rate=20, hold_ms=1500, port=trunk)
        assert run.successful == 4, run.describe()  # the carrier hung up: BYE answered via us
        assert gw.wait_channels(0) == 0
        seen = core.stop().events("invite")
        assert len(seen) == 4
        assert all(event["ruri"].startswith(f"sip:{EXTENSION}@") for event in seen)  # DID mapped
        records = gw.wait_cdrs(4)
        assert [r["result"] for r in records] == ["answered"] * 4
        assert all(r["did"] == DID and r["answer"] and r["end"] > r["answer"] for r in records)

        other = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[hanging_up_core.port])
        write_config(gw.state_dir, other)
        assert gw.cli("reload").returncode == 0
        run = lab.uac(gw.address, "uac_wait_bye.xml", calls=4, rate=20, port=trunk)
        assert run.successful == 4, run.describe()  # the PBX side hung up
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(8)[4:]
        assert [r["result"] for r in records] == ["answered"] * 4


def test_cancel_and_busy_and_5xx_from_the_core_free_the_channel(
    lab: SipLab, issuer: Issuer
) -> None:
    ringing, busy, failing = (
        lab.uas("uas_ring.xml"),
        lab.uas("uas_busy.xml"),
        lab.uas("uas_5xx.xml"),
    )
    trunk = free_udp_port()
    numbers = {DID: EXTENSION}
    with running_gateway(
        issuer, gateway_config(issuer.licence(4), trunk_port=trunk, cores=[ringing.port])
    ) as gw:
        run = lab.uac(gw.address, "uac_cancel.xml", calls=2, rate=10, port=trunk)
        assert run.successful == 2, run.describe()
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2)
        assert {(r["result"], r["sip_code"]) for r in records} == {("cancelled", 487)}

    with running_gateway(
        issuer, gateway_config(issuer.licence(4), trunk_port=trunk, cores=[busy.port])
    ) as gw:
        run = lab.uac(gw.address, "uac_expect_error.xml", calls=2, rate=10, port=trunk)
        assert [f["code"] for f in run.events("final")] == ["486", "486"], run.describe()
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2)
        assert {(r["result"], r["sip_code"], r["q850"]) for r in records} == {("busy", 486, 17)}

    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[failing.port],
                            numbers=numbers)  # fmt: skip
    with running_gateway(issuer, config) as gw:
        run = lab.uac(gw.address, "uac_expect_error.xml", calls=2, rate=10, port=trunk)
        finals = run.events("final")
        assert [f["code"] for f in finals] == ["503", "503"], run.describe()
        assert all("cause=41" in f["reason"] and not f["retry_after"] for f in finals)
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2)
        assert {(r["result"], r["sip_code"], r["q850"]) for r in records} == {("no_core", 503, 41)}


def test_failover_to_the_secondary_core_and_all_cores_down(lab: SipLab, issuer: Issuer) -> None:
    dead_primary = free_udp_port()  # nothing listens: the core died
    secondary = lab.uas("uas_answer.xml")
    failing_primary = lab.uas("uas_5xx.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk,
                            cores=[dead_primary, secondary.port])  # fmt: skip
    with running_gateway(issuer, config, failover_timeout_ms="500") as gw:
        # the first call may try the dead primary (500 ms), later ones skip it once it is marked
        run = lab.uac(gw.address, "uac_limit.xml", calls=4, rate=10, hold_ms=500, port=trunk)
        assert run.successful == 4, run.describe()
        assert run.answered == 4
        status = _cores_up(gw, 1)
        assert [core["up"] for core in status["cores"]] == [False, True]  # type: ignore[index]
        assert gw.wait_channels(0) == 0
        assert len(secondary.stop().events("invite")) == 4
        # now the secondary is gone too: all cores down
        assert _cores_up(gw, 0)["cores_up"] == 0
        done = gw.cli("status")
        assert "all PBX cores are down" in done.stdout
        metrics = gw.cli("metrics").stdout
        assert f'gateway32_core_up{{uri="sip:127.0.0.1:{dead_primary}"}} 0.0' in metrics
        assert "gateway32_channels_licensed 4.0" in metrics
        run = lab.uac(gw.address, "uac_expect_error.xml", calls=3, rate=10, port=trunk)
        finals = run.events("final")
        assert [f["code"] for f in finals] == ["503"] * 3, run.describe()
        assert all("Q.850;cause=41" in f["reason"] and not f["retry_after"] for f in finals)
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(7)[4:]
        assert [r["result"] for r in records] == ["no_core"] * 3

    # a primary answering 500 hands the call to the secondary
    secondary = lab.uas("uas_answer.xml")
    config = gateway_config(issuer.licence(4), trunk_port=trunk,
                            cores=[failing_primary.port, secondary.port])  # fmt: skip
    with running_gateway(issuer, config) as gw:
        run = lab.uac(gw.address, "uac_limit.xml", calls=2, rate=10, hold_ms=300, port=trunk)
        assert run.successful == 2, run.describe()
        assert run.answered == 2
        assert gw.wait_channels(0) == 0


def test_outbound_calls_show_the_ported_number(lab: SipLab, issuer: Issuer) -> None:
    trunk = lab.uas("uas_answer.xml")
    core_a, core_b = free_udp_port(), free_udp_port()
    numbers = {DID: EXTENSION, "0399990000": "2002"}
    config = gateway_config(issuer.licence(4), trunk_port=trunk.port, cores=[core_a, core_b],
                            numbers=numbers, default_caller_id="0399990001")  # fmt: skip
    with running_gateway(issuer, config) as gw:
        for caller in ("2002", "2999"):
            run = lab.uac(gw.address, "uac_limit.xml", calls=1, service="0455556666",
                          caller=caller, hold_ms=200, port=core_a)  # fmt: skip
            assert run.successful == 1, run.describe()
        assert gw.wait_channels(0) == 0
        seen = trunk.stop().events("invite")
        records = gw.wait_cdrs(2)
    assert [event["ruri"].split("@")[0] for event in seen] == ["sip:0455556666"] * 2
    assert "sip:0399990000@" in seen[0]["from"]  # the DID that maps to extension 2002
    assert "sip:0399990000@" in seen[0]["pai"]
    assert "sip:0399990001@" in seen[1]["from"]  # no DID of its own: the default
    assert [(r["direction"], r["did"], r["result"]) for r in records] == [
        ("outbound", "0399990000", "answered"),
        ("outbound", "0399990001", "answered"),
    ]


def test_emergency_goes_out_over_the_trunk_even_when_the_licence_is_full(
    lab: SipLab, issuer: Issuer
) -> None:
    trunk = lab.uas("uas_answer.xml")
    core_a, core_b = free_udp_port(), free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk.port, cores=[core_a, core_b])
    with running_gateway(issuer, config) as gw:
        held = lab.start_uac(gw.address, "uac_limit.xml", calls=4, rate=50, hold_ms=6000,
                             service="0455556666", caller=EXTENSION, port=core_a)  # fmt: skip
        assert gw.wait_channels(4) == 4
        refused = lab.uac(gw.address, "uac_limit.xml", calls=1, service="0455556666",
                          caller=EXTENSION, port=core_b)  # fmt: skip
        assert refused.count("486") == 1, refused.describe()
        emergency = lab.uac(gw.address, "uac_limit.xml", calls=1, service="110",
                            caller=EXTENSION, hold_ms=200, port=core_b)  # fmt: skip
        assert emergency.successful == 1, emergency.describe()
        assert held.wait(timeout=30).successful == 4
        assert gw.wait_channels(0) == 0
        seen = trunk.stop().events("invite")
        records = gw.wait_cdrs(6)
    assert [e["ruri"].split("@")[0] for e in seen].count("sip:110") == 1
    assert all(f"sip:{DID}@" in e["from"] for e in seen)
    calls = [r for r in records if r["emergency"]]
    assert len(calls) == 1
    assert calls[0]["result"] == "answered"
    assert calls[0]["channels_in_use"] == 5
    assert calls[0]["to"].startswith("sip:110@")


def test_strangers_and_unknown_numbers_get_no_channel(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as gw:
        stranger = lab.uac(gw.address, "uac_expect_error.xml", calls=2, port=free_udp_port())
        assert [f["code"] for f in stranger.events("final")] == ["403", "403"]
        unknown = lab.uac(gw.address, "uac_expect_error.xml", calls=2, service="0300000000",
                          port=trunk)  # fmt: skip
        assert [f["code"] for f in unknown.events("final")] == ["404", "404"]
        assert gw.channels_in_use() == 0
        records = gw.wait_cdrs(2)
        assert [(r["result"], r["sip_code"]) for r in records] == [("failed", 404)] * 2
        # relayed, this BYE would meet silence there and come back as a 408, not the 481
        elsewhere = f"127.0.0.1:{free_udp_port()}"
        stray = lab.uac(gw.address, "uac_stray_bye.xml", calls=1, port=trunk,
                        keys={"target": elsewhere})  # fmt: skip
        assert [f["code"] for f in stray.events("final")] == ["481"], stray.describe()
        assert len(core.stop().events("invite")) == 0


def test_media_is_relayed_through_rtpengine(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[core.port])
    relay = {"media_relay": "true", "rtpengine_ng": f"127.0.0.1:{free_udp_port()}",
             "rtp_ports": "31000-31999"}  # fmt: skip
    with running_gateway(issuer, config, **relay) as gw:
        run = lab.uac(gw.address, "uac_limit.xml", calls=2, rate=10, hold_ms=500, port=trunk)
        assert run.successful == 2, run.describe()
        assert gw.wait_channels(0) == 0
        seen = core.stop().events("invite")
    assert len(seen) == 2
    for event in seen:  # the core is offered the relay's address, never the carrier's
        assert event["media"] == "c=IN IP4 127.0.0.1"
        assert 31000 <= int(event["m"].split()[-1]) <= 31999


def test_a_core_failing_mid_call_gives_the_channel_back(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_vanish.xml", auto_answer=False)  # answers, then is deaf to everything
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[core.port])
    # no OPTIONS probes in this test: the deaf core would be marked down before the second call
    with running_gateway(issuer, config, core_ping_interval="600") as gw:
        # the carrier hangs up towards a dead core: freed on the BYE, whatever the core says
        lab.uac(gw.address, "uac_limit.xml", calls=1, hold_ms=500, port=trunk, seconds=15)
        assert gw.wait_channels(0, timeout=5) == 0
        # nobody hangs up: the in-dialog keep-alive to the core fails, both sides get a BYE
        carrier = lab.start_uac(gw.address, "uac_wait_bye.xml", calls=1, port=trunk, seconds=90)
        assert gw.wait_channels(1) == 1
        started = time.monotonic()
        assert gw.wait_channels(0, timeout=75) == 0, gw.log()
        waited = time.monotonic() - started
        assert carrier.wait(timeout=30).successful == 1  # the carrier got the gateway's BYE
        records = gw.wait_cdrs(2)
    assert [r["result"] for r in records] == ["answered", "answered"]
    print(f"channel back {waited:.0f} s after the core went deaf")


def test_stopping_the_gateway_hangs_up_calls_in_progress(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(4), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as gw:
        carrier = lab.start_uac(gw.address, "uac_wait_bye.xml", calls=2, rate=20, port=trunk,
                                seconds=30)  # fmt: skip
        assert gw.wait_channels(2) == 2
        stop_gateway(gw.process)
        assert gw.process.returncode == 0
        assert carrier.wait(timeout=20).successful == 2  # both got the gateway's BYE
        assert [r["result"] for r in gw.cdrs()] == ["answered", "answered"]
        status = gw.cli("status")
        assert status.returncode == 1
        assert "gateway32 is not running" in status.stderr
