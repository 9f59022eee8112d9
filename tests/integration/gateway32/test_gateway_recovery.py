"""Channels come back when nobody hangs up: a carrier that vanishes (dialog keep-alives), a call
that reaches the maximum duration, and media that stops (rtpengine's timeout)."""

from __future__ import annotations

import time

import pytest

from tests.support.gateway_engine import Issuer, RunningGateway, gateway_config, running_gateway
from tests.support.ports import LOOPBACK, free_udp_port
from tests.support.sip_harness import SipLab, Sipp

pytestmark = pytest.mark.sip

CHANNELS = 4
MEDIA_TIMEOUT = 4  # seconds without RTP before rtpengine drops a call


def fill_channels(lab: SipLab, gw: RunningGateway, trunk_port: int, scenario: str) -> Sipp:
    """A carrier with every channel of the licence in a call, held far longer than the test."""
    carrier = lab.start_uac(
        gw.address, scenario, calls=CHANNELS, rate=20, hold_ms=300_000, port=trunk_port,
        seconds=300,
    )  # fmt: skip
    assert gw.wait_channels(CHANNELS) == CHANNELS, gw.log()
    return carrier


def seconds_until_channels_free(gw: RunningGateway, timeout: float) -> float:
    started = time.monotonic()
    left = gw.wait_channels(0, timeout=timeout)
    assert left == 0, f"{left} channels still in use after {timeout} s\n{gw.log()}"
    return time.monotonic() - started


def test_a_carrier_killed_without_bye_gives_its_channels_back(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(CHANNELS), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as gw:  # keep-alives every 30 s, the Kamailio minimum
        carrier = fill_channels(lab, gw, trunk, "uac_limit.xml")
        carrier.vanish()  # kill -9: no BYE, nobody answers the keep-alive OPTIONS any more
        waited = seconds_until_channels_free(gw, timeout=90)
        records = gw.wait_cdrs(CHANNELS, timeout=40)  # seen > 15 s late under load, cause unknown
        assert [r["result"] for r in records] == ["answered"] * CHANNELS, records
        again = lab.uac(gw.address, "uac_limit.xml", calls=1, hold_ms=200, port=trunk)
        assert again.answered == 1, again.describe()
        seen = core.stop()
        assert seen.count("BYE") == CHANNELS + 1, seen.describe()  # the core side was hung up
    print(f"channels back {waited:.0f} s after the carrier vanished")


def media_relay(low: int) -> dict[str, str]:
    """Settings for rtpengine with its own control port and RTP port range."""
    return {
        "media_relay": "true",
        "media_timeout": str(MEDIA_TIMEOUT),
        "rtpengine_ng": f"{LOOPBACK}:{free_udp_port()}",
        "rtp_ports": f"{low}-{low + 99}",
    }


def test_a_call_whose_media_stops_is_hung_up_and_one_with_media_is_not(
    lab: SipLab, issuer: Issuer
) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(CHANNELS), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config, **media_relay(32_600)) as gw:
        # no RTP at all: rtpengine gives the call up, the gateway hangs it up both ways
        started = time.monotonic()
        silent = lab.uac(gw.address, "uac_wait_bye.xml", calls=1, port=trunk, seconds=60)
        took = time.monotonic() - started
        assert silent.successful == 1, silent.describe()  # the carrier got the gateway's BYE
        assert MEDIA_TIMEOUT <= took < MEDIA_TIMEOUT + 15, took
        assert gw.wait_channels(0) == 0
        # 14 s of RTP from the carrier, three media timeouts long: the carrier hangs up itself
        talking = lab.uac(gw.address, "uac_rtp.xml", calls=1, port=trunk, seconds=40,
                          extra=["-mp", str(free_udp_port())])  # fmt: skip
        assert talking.successful == 1, talking.describe()
        assert talking.count("BYE", "Sent") == 1
        assert gw.wait_channels(0) == 0
        records = gw.wait_cdrs(2, timeout=40)  # seen > 15 s late under load, cause unknown
        assert [r["result"] for r in records] == ["answered"] * 2, (records, gw.log())
    seen = core.stop()
    assert seen.count("BYE") == 2, f"the core side of both calls is hung up\n{seen.describe()}"


def test_a_call_at_the_maximum_duration_is_hung_up_both_ways(lab: SipLab, issuer: Issuer) -> None:
    core = lab.uas("uas_answer.xml")
    trunk = free_udp_port()
    config = gateway_config(
        issuer.licence(CHANNELS), trunk_port=trunk, cores=[core.port], max_call_seconds=10
    )
    with running_gateway(issuer, config) as gw:
        started = time.monotonic()
        run = lab.uac(gw.address, "uac_wait_bye.xml", calls=2, rate=20, port=trunk, seconds=45)
        took = time.monotonic() - started
        assert run.successful == 2, run.describe()  # the carrier got the gateway's BYE
        assert 9.5 < took < 30, took  # hung up by the gateway, not by the carrier
        assert gw.wait_channels(0) == 0
        seen = core.stop()
        assert seen.count("BYE") == 2, seen.describe()
