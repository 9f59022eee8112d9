"""Hostile input leaves gateway32 serving with no channel lost: garbage datagrams, oversized
headers and a sipvicious scan, from strangers and from the trunk's own address. After each, the
gateway still runs, a normal call still connects, and channels in use are back to 0."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.gateway_engine import Issuer, RunningGateway, gateway_config, running_gateway
from tests.support.ports import LOOPBACK, free_udp_port
from tests.support.sip_harness import DID, SipLab, Sipp

pytestmark = pytest.mark.sip

CHANNELS = 4


@pytest.fixture
def gateway(lab: SipLab, issuer: Issuer) -> Iterator[tuple[RunningGateway, Sipp, int]]:
    """A 4-channel gateway with one PBX core; yields it, the core and the trunk's port."""
    core = lab.uas("uas_answer.xml")  # no 180 to be reordered after the 200
    trunk = free_udp_port()
    config = gateway_config(issuer.licence(CHANNELS), trunk_port=trunk, cores=[core.port])
    with running_gateway(issuer, config) as running:
        yield running, core, trunk


def assert_still_serving(lab: SipLab, gw: RunningGateway, trunk: int) -> None:
    """The gateway process runs, answers status, connects a normal call and frees its channel."""
    assert gw.process.poll() is None, gw.log()
    assert gw.wait_channels(0) == 0, gw.log()
    run = lab.uac(gw.address, "uac_limit.xml", calls=2, rate=10, hold_ms=200, port=trunk)
    assert run.answered == 2, run.describe()
    assert run.successful == 2, run.describe()
    assert gw.wait_channels(0) == 0, gw.log()


def invite(source_port: int, gateway_port: int, *, did: str = DID, extra: str = "") -> bytes:
    """A well-formed INVITE without SDP, to be mangled."""
    tag = random.getrandbits(48)
    return (
        f"INVITE sip:{did}@{LOOPBACK}:{gateway_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {LOOPBACK}:{source_port};branch=z9hG4bK{tag}\r\n"
        f"From: <sip:0901112222@{LOOPBACK}:{source_port}>;tag={tag}\r\n"
        f"To: <sip:{did}@{LOOPBACK}:{gateway_port}>\r\n"
        f"Call-ID: {tag}@hostile\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:0901112222@{LOOPBACK}:{source_port}>\r\nMax-Forwards: 70\r\n"
        f"{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def garbage(source_port: int, gateway_port: int) -> list[bytes]:
    """Datagrams no SIP stack should act on, except by refusing them."""
    rng = random.Random(6)  # the same corpus every run
    valid = invite(source_port, gateway_port, did="0399999999")
    cut = valid.index(b"Call-ID")
    return [
        b"",
        b"\r\n\r\n",  # a keep-alive, the only harmless one
        b"\x00" * 512,
        b"INVITE\r\n\r\n",
        b"INVITE sip:%s@127.0.0.1 SIP/2.0\r\n\r\n" % DID.encode(),  # no headers at all
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n",  # stray reply
        valid[:cut],  # cut in the middle of the headers
        valid.replace(b"Call-ID", b"X-Call-ID"),  # no Call-ID
        valid.replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE"),
        valid.replace(b"Content-Length: 0", b"Content-Length: 99999"),
        valid.replace(b"Via: SIP/2.0/UDP", b"Via: SIP/9.9/XYZ"),
        valid.replace(b"From: <sip:", b"From: <\xff\xfe\xfd:"),  # not UTF-8, not a URI
        invite(source_port, gateway_port, did="9" * 30_000),  # 30 kB Request-URI and To
        *(rng.randbytes(rng.choice([1, 17, 300, 1400, 9000, 65_000])) for _ in range(40)),
        *(rng.randbytes(200) + valid for _ in range(5)),
    ]


def send_all(datagrams: list[bytes], source_port: int, gateway_port: int) -> list[bytes]:
    """Sends each datagram from ``source_port``; returns the status lines the gateway sent back."""
    replies: list[bytes] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, source_port))
        for datagram in datagrams:
            sock.sendto(datagram, (LOOPBACK, gateway_port))
        sock.settimeout(1.0)
        try:
            while True:
                replies.append(sock.recv(65_535).split(b"\r\n", 1)[0])
        except TimeoutError:
            pass
    return replies


@pytest.mark.parametrize("source", ["stranger", "trunk"])
def test_garbage_datagrams_change_nothing(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int], source: str
) -> None:
    gw, _core, trunk = gateway
    port = trunk if source == "trunk" else free_udp_port()
    replies = send_all(garbage(port, gw.port), port, gw.port)
    # refusals at most: nothing was tried, answered or rung
    assert all(reply.startswith((b"SIP/2.0 4", b"SIP/2.0 5")) for reply in replies), replies
    assert gw.channels_in_use() == 0
    assert [r for r in gw.cdrs() if r["result"] not in ("failed",)] == []
    assert_still_serving(lab, gw, trunk)


def via_lines(count: int) -> str:
    return "".join(
        f"\r\nVia: SIP/2.0/UDP 10.{i // 250}.{i % 250}.1:5060;branch=z9hG4bK{i}"
        for i in range(count)
    )


@pytest.mark.parametrize(
    ("pad", "vias"),
    [("A" * 30_000, 0), ("", 300), ("B" * 8_000, 100)],
    ids=["30kB-header", "300-vias", "8kB-and-100-vias"],
)
def test_oversized_headers_end_cleanly(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int], pad: str, vias: int
) -> None:
    gw, _core, trunk = gateway
    run = lab.uac(
        gw.address, "uac_oversized.xml", calls=3, rate=10, hold_ms=200, port=trunk,
        keys={"pad": pad, "via_lines": via_lines(vias)}, recv_timeout_ms=10_000, seconds=40,
    )  # fmt: skip
    # relayed (answered, hung up) or refused: either way the call ended, no channel held
    assert run.successful == 3, run.describe()
    assert run.answered + len(run.events("final")) == 3, run.describe()
    assert gw.wait_channels(0) == 0, gw.log()
    assert_still_serving(lab, gw, trunk)


def sipvicious(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*args], capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_sipvicious_scan_takes_no_channel(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int]
) -> None:
    gw, core, trunk = gateway
    port = str(gw.port)
    # OPTIONS sweep of the ports around the gateway: it must be found (the scan reached it)
    found = sipvicious("svmap", LOOPBACK, "-p", f"{gw.port - 2}-{gw.port + 2}", "-t", "0.05")
    assert f"{LOOPBACK}:{port}" in found.stdout, found.stdout
    assert "gateway32" in found.stdout, found.stdout
    # extension enumeration from a stranger: REGISTER, OPTIONS and INVITE sweeps
    for method in ("REGISTER", "OPTIONS", "INVITE"):
        sipvicious("svwar", "-m", method, "-e", "100-199,2000-2010", "-p", port, "--force",
                   "-t", "0.05", LOOPBACK)  # fmt: skip
    # a number sweep that comes from the trunk's own address: every number is not ported here
    sipvicious("svwar", "-m", "INVITE", "-e", "0312345600-0312345649", "-P", str(trunk),
               "-p", port, "--force", "-t", "0.05", LOOPBACK)  # fmt: skip
    assert gw.channels_in_use() == 0
    assert core.result().count("INVITE") == 0  # no scan INVITE reached the PBX core
    time.sleep(1)
    records = gw.cdrs()
    assert {(r["result"], r["sip_code"]) for r in records} <= {("failed", 404)}, records
    assert_still_serving(lab, gw, trunk)


def test_an_invite_flood_from_a_stranger_is_refused_while_the_trunk_is_served(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int]
) -> None:
    gw, core, trunk = gateway
    flood = lab.start_uac(gw.address, "uac_expect_error.xml", calls=1000, rate=250, seconds=30)
    assert_still_serving(lab, gw, trunk)  # while the flood is on
    run = flood.wait(timeout=45)
    assert run.successful == 1000, run.describe()
    assert {final["code"] for final in run.events("final")} == {"403"}
    assert gw.wait_channels(0) == 0
    assert core.stop().count("INVITE") == 2  # only the trunk's own two calls reached the core


def in_dialog(method: str, ruri: str, source_port: int, gateway_port: int, **ids: str) -> bytes:
    """A request inside a dialog (To tag, Route to the gateway) as a stranger would forge it."""
    return (
        f"{method} {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {LOOPBACK}:{source_port};branch=z9hG4bK{random.getrandbits(48)}\r\n"
        f"Route: <sip:{LOOPBACK}:{gateway_port};lr>\r\n"
        f"From: <sip:0901112222@{LOOPBACK}>;tag={ids['from_tag']}\r\n"
        f"To: <sip:{DID}@{LOOPBACK}>;tag={ids['to_tag']}\r\n"
        f"Call-ID: {ids['call_id']}\r\nCSeq: 9 {method}\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_forged_in_dialog_requests_are_not_relayed_to_strangers(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int]
) -> None:
    gw, _core, _trunk = gateway
    victim = lab.uas("uas_answer.xml")  # somebody else's SIP server, not the trunk or a core
    port = free_udp_port()
    ids = {"from_tag": "1", "to_tag": "2", "call_id": "forged@stranger"}
    forged = [
        in_dialog(method, f"sip:victim@{victim.address}", port, gw.port, **ids)
        for method in ("INVITE", "MESSAGE", "BYE", "OPTIONS")
    ]
    replies = send_all(forged, port, gw.port)
    assert replies, "the gateway answers forged in-dialog requests"
    assert all(reply.startswith(b"SIP/2.0 4") for reply in replies), replies
    time.sleep(1.5)  # SIPp writes its counters each second
    assert victim.result().nonzero() == "", "the gateway relayed a stranger's request"


def test_a_strangers_bye_does_not_hang_up_a_live_call(
    lab: SipLab, gateway: tuple[RunningGateway, Sipp, int]
) -> None:
    gw, core, trunk = gateway
    carrier = lab.start_uac(gw.address, "uac_limit.xml", calls=1, hold_ms=4000, port=trunk)
    assert gw.wait_channels(1) == 1
    # SIPp's identifiers are predictable: a stranger who sniffed or guessed them
    ids = {
        "call_id": f"1-{carrier.process.pid}@{LOOPBACK}",
        "from_tag": f"{carrier.process.pid}SIPpTag001",
        "to_tag": f"{core.process.pid}SIPpTag011",
    }
    port = free_udp_port()
    forged_bye = in_dialog("BYE", f"sip:{core.address}", port, gw.port, **ids)
    replies = send_all([forged_bye], port, gw.port)
    run = carrier.wait(timeout=30)
    seen = core.stop()
    assert replies, "no answer to the forged BYE"
    assert replies[0].startswith(b"SIP/2.0 4"), f"the stranger's BYE got {replies[0]!r}"
    assert seen.count("BYE") == 1, seen.describe()  # the carrier's own, at the end
    assert run.successful == 1, run.describe()
    assert gw.wait_channels(0) == 0
