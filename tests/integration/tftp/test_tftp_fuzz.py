"""Fuzzing the TFTP front door: random and malformed packets must leave it serving.

One in-process server for the module. Hypothesis throws random datagrams, structured-but-wrong
packets and packet sequences inside a live transfer at it; after every example a real fetch
must still succeed, the server thread must be alive, and nothing may have been logged at ERROR
(by provisioner.tftp, or by asyncio for an exception in a callback) except the resolver's own
failure. Derandomized and without an example database, so CI always runs the same examples.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import struct
import subprocess
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.tftp import TftpThread, serve_in_thread
from provisioner.tftp.packets import (
    Data,
    Error,
    ErrorCode,
    OAck,
    Opcode,
    Packet,
    decode,
    encode_ack,
    encode_request,
)
from tests.support.waiting import wait_until

HOST = "127.0.0.1"
Address = tuple[str, int]

KNOWN = "cfg000b82aabbcc.xml"
BOOM = "boom.cfg"  # the resolver raises: its own ERROR log is the one allowed
CONFIG = random.Random(1359).randbytes(512 * 5 + 77)  # six blocks at the default size
SESSION_TIMEOUT, RETRIES = 0.5, 2
# The fuzzing never negotiates a timeout over 1 s (see `lingers`), so no session lives longer.
LONGEST_SESSION = 1.0 * (RETRIES + 1)
QUARANTINE = LONGEST_SESSION + 2.0
UNKNOWN_TID = Error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID")

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
)


def resolve(filename: str, client_ip: str) -> bytes | None:
    if filename == BOOM:
        raise RuntimeError("resolver bug")
    return CONFIG if filename == KNOWN else None


class ErrorRecords(logging.Handler):
    """Keeps ERROR records from the server's loggers, less the resolver's own failure."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("resolver failed"):
            self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [self.format(record) for record in taken]


class Harness:
    """The server under fuzz, its ERROR records, and client sockets that are not reused too soon.

    The kernel hands a closed socket's port out again at once, and a new client there would be
    taken for the old one (the server ignores an RRQ from an address it is still serving, and
    retransmits to it). So a socket is closed only once no session can still be sending to it.
    """

    max_open = 1000

    def __init__(self, server: TftpThread, errors: ErrorRecords) -> None:
        self.server = server
        self.errors = errors
        self._sockets: deque[tuple[float, socket.socket]] = deque()

    def socket(self) -> socket.socket:
        now = time.monotonic()
        while self._sockets and (
            self._sockets[0][0] + QUARANTINE < now or len(self._sockets) >= self.max_open
        ):
            opened, sock = self._sockets.popleft()
            time.sleep(max(0.0, opened + QUARANTINE - time.monotonic()))
            sock.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        self._sockets.append((time.monotonic(), sock))
        return sock

    def assert_still_serving(self) -> None:
        assert self.server.is_alive()
        assert fetch(self.socket(), self.server.address) == CONFIG
        assert self.errors.take() == []

    def close(self) -> None:
        for _, sock in self._sockets:
            sock.close()


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    errors = ErrorRecords()
    errors.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    loggers = [logging.getLogger("provisioner.tftp"), logging.getLogger("asyncio")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        with serve_in_thread(resolve, HOST, 0, timeout=SESSION_TIMEOUT, retries=RETRIES) as srv:
            fuzz = Harness(srv, errors)
            yield fuzz
            fuzz.close()
    finally:
        for logger in loggers:
            logger.removeHandler(errors)


def fetch(sock: socket.socket, server: Address) -> bytes:
    """A plain lock-step client (no options) that resends its last packet on a timeout."""
    sock.settimeout(0.5)
    last, peer = (encode_request(Opcode.RRQ, KNOWN), server), None
    out, expected, misses = bytearray(), 1, 0
    sock.sendto(*last)
    while True:
        try:
            data, addr = sock.recvfrom(70_000)
        except TimeoutError:
            misses += 1
            assert misses < 6, f"no answer for 3 s, waiting for block {expected}"
            sock.sendto(*last)
            continue
        peer = peer or addr
        packet = decode(data)
        assert addr == peer, "DATA from a second transfer ID"
        assert isinstance(packet, Data), packet
        if packet.block == expected - 1:  # our ACK was lost: the server sent the block again
            sock.sendto(*last)
            continue
        assert packet.block == expected, packet
        out += packet.payload
        last = (encode_ack(expected), peer)
        sock.sendto(*last)
        if len(packet.payload) < 512:
            return bytes(out)
        expected += 1


def drain(sock: socket.socket) -> list[Packet]:
    """Whatever the server sent this socket so far; each datagram must be a valid packet."""
    sock.setblocking(False)
    packets = []
    with contextlib.suppress(BlockingIOError):
        while True:
            packets.append(decode(sock.recv(70_000)))
    assert all(isinstance(packet, Data | OAck | Error) for packet in packets), packets
    return packets


# --- strategies ----------------------------------------------------------------------------

OPCODE = struct.Struct("!H")
HEADER = struct.Struct("!HH")

file_names = st.one_of(
    st.sampled_from(
        [KNOWN, BOOM, "missing.cfg", KNOWN.upper(), f"Grandstream/{KNOWN}", f"/{KNOWN}",
         f"\\{KNOWN}", f"../{KNOWN}", f"a/../{KNOWN}", "a\\..\\b", "..", f"{KNOWN}\x01",
         f"{KNOWN}\x7f", "x" * 256, "é" * 128, "cfg.xml\u202e"]
    ).map(str.encode),
    st.binary(max_size=300),
    st.text(max_size=80).map(str.encode),
)  # fmt: skip
modes = st.one_of(
    st.sampled_from(
        [b"octet", b"netascii", b"OCTET", b"NetAscii", b"mail", b"binary", b"", b"\xff"]
    ),
    st.binary(max_size=20),
)
option_names = st.one_of(
    st.sampled_from(
        ["blksize", "tsize", "timeout", "windowsize", "BLKSIZE", "WindowSize", "multicast",
         "rollover", "grandstream_x", ""]
    ).map(str.encode),
    st.binary(max_size=20),
)  # fmt: skip
option_values = st.one_of(
    st.sampled_from(
        ["0", "1", "7", "8", "512", "1468", "65464", "65465", "65535", "65536", "99999999999",
         "-1", "+5", " 512", "512 ", "1e3", "0x200", "disable", "enable", "", "٣", "\xff"]
    ).map(str.encode),
    st.binary(max_size=20),
)  # fmt: skip


def lingers(name: bytes, value: bytes) -> bool:
    """A valid `timeout` over 1 s: the session would (rightly) outlive the run's final check."""
    return (
        name.lower() == b"timeout"
        and value.isdigit()
        and len(value) <= 10
        and 1 < int(value) <= 255
    )


options = st.lists(
    st.tuples(option_names, option_values).filter(lambda pair: not lingers(*pair)), max_size=12
)
many_options = st.integers(100, 2000).map(
    lambda count: [(f"x-{index}".encode(), b"1") for index in range(count)]
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """RRQ/WRQ with odd names, modes and options, then maybe cut short or unterminated."""
    pairs = draw(st.one_of(options, many_options))
    if pairs and draw(st.booleans()):
        pairs = [*pairs, pairs[0]]  # a duplicate option
    fields = [draw(file_names), draw(modes), *(part for pair in pairs for part in pair)]
    packet = OPCODE.pack(draw(st.sampled_from([Opcode.RRQ, Opcode.WRQ]))) + b"\0".join(fields)
    ending = draw(st.sampled_from(["nul", "none", "cut"]))
    if ending == "nul":
        return packet + b"\0"
    if ending == "none":
        return packet
    return packet[: draw(st.integers(0, len(packet)))]


# Hypothesis favours small integers: the wrap-around edges are listed so they do come up.
blocks = st.one_of(
    st.integers(0, 8),
    st.sampled_from([255, 256, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF]),
    st.integers(0, 0xFFFF),
)
acks = st.builds(
    lambda block, tail: HEADER.pack(Opcode.ACK, block) + tail, blocks, st.binary(max_size=8)
)
datas = st.builds(
    lambda block, payload: HEADER.pack(Opcode.DATA, block) + payload,
    blocks,
    st.binary(max_size=600),
)
tftp_errors = st.builds(
    lambda code, text, nul: HEADER.pack(Opcode.ERROR, code) + text + (b"\0" if nul else b""),
    st.integers(0, 0xFFFF),
    st.binary(max_size=40),
    st.booleans(),
)
oacks = st.builds(
    lambda pairs: OPCODE.pack(Opcode.OACK) + b"".join(n + b"\0" + v + b"\0" for n, v in pairs),
    options,
)
unknown_opcodes = st.builds(
    lambda opcode, body: OPCODE.pack(opcode) + body,
    st.one_of(st.just(0), st.integers(7, 0xFFFF)),
    st.binary(max_size=100),
)
short = st.binary(max_size=3)  # no room for an opcode, or for a block number
structured = st.one_of(requests(), acks, datas, tftp_errors, oacks, unknown_opcodes, short)


# --- tests ---------------------------------------------------------------------------------


def send_and_check(fuzz: Harness, datagram: bytes) -> None:
    sock = fuzz.socket()
    sock.sendto(datagram, fuzz.server.address)
    fuzz.assert_still_serving()
    drain(sock)


@settings(FUZZ, max_examples=300)
@given(datagram=st.binary(max_size=600))
def test_random_datagrams(harness: Harness, datagram: bytes) -> None:
    send_and_check(harness, datagram)


@settings(FUZZ, max_examples=400)
@given(datagram=structured)
def test_malformed_packets(harness: Harness, datagram: bytes) -> None:
    send_and_check(harness, datagram)


first_options = st.dictionaries(
    st.sampled_from(["blksize", "windowsize", "tsize"]),
    st.sampled_from(["0", "8", "512", "1468", "4", "bad"]),
)
# Where each packet goes: the transfer's port, the listener, or the transfer's port from a
# second socket (a stranger: it may only ever get ERROR 5).
targets = st.sampled_from(["transfer", "listener", "stranger"])
in_transfer = st.one_of(acks, acks, tftp_errors, datas, requests(), st.binary(max_size=100))


@settings(FUZZ, max_examples=300)
@given(first=first_options, steps=st.lists(st.tuples(targets, in_transfer), max_size=12))
def test_packets_inside_a_transfer(
    harness: Harness, first: dict[str, str], steps: list[tuple[str, bytes]]
) -> None:
    client, stranger = harness.socket(), harness.socket()
    client.settimeout(3.0)
    client.sendto(encode_request(Opcode.RRQ, KNOWN, "octet", first), harness.server.address)
    answer, transfer = client.recvfrom(70_000)
    assert isinstance(decode(answer), Data | OAck)
    for target, datagram in steps:
        sock = stranger if target == "stranger" else client
        sock.sendto(datagram, harness.server.address if target == "listener" else transfer)
    harness.assert_still_serving()
    drain(client)
    assert all(packet == UNKNOWN_TID for packet in drain(stranger))


def test_after_fuzzing_curl_fetches_and_every_session_ends(
    harness: Harness, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    url = f"tftp://{HOST}:{harness.server.address[1]}/{KNOWN}"
    result = subprocess.run(
        ["curl", "-sS", "-o", str(out), url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == CONFIG
    # Sessions left by the fuzzing (clients gone mid-transfer) end after their retries: none hangs.
    assert wait_until(lambda: harness.server.server.active_sessions == 0, LONGEST_SESSION + 2)
    assert harness.server.is_alive()
    assert harness.errors.take() == []
