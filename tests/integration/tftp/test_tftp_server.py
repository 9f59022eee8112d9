"""The TFTP front door against real clients (tftp-hpa, atftp, curl) and raw UDP, loopback only.

The server runs in-process (serve_in_thread on port 0) over deterministic in-memory files; the
helpers come first, then the tests. Every wait is bounded in count and time.
"""

import asyncio
import contextlib
import logging
import os
import random
import resource
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from provisioner.tftp import TftpAccessDenied, TftpThread, serve_in_thread
from provisioner.tftp.client import fetch, fetch_sync
from provisioner.tftp.packets import (
    Data,
    Error,
    ErrorCode,
    MalformedPacket,
    OAck,
    Opcode,
    Packet,
    decode,
    encode_ack,
    encode_data,
    encode_error,
    encode_request,
)
from provisioner.tftp.server import LISTENER_BUFFER
from tests.support.waiting import wait_until

HOST = "127.0.0.1"
Address = tuple[str, int]

SMALL = "cfg000b82aabbcc.xml"
IN_DIR = "Grandstream/cfg000b82aabbcc.xml"
MULT1468 = "mult1468.bin"
MULT512 = "mult512.bin"
FW3M = "fw3m.bin"
ROLLOVER = "rollover.bin"  # more than 65,535 blocks of 512 bytes
BOOM = "boom.cfg"  # the resolver raises RuntimeError
SECRET = "secret.cfg"  # the resolver raises TftpAccessDenied
BUSY = Error(ErrorCode.NOT_DEFINED, "server busy")


def make_files() -> dict[str, bytes]:
    rng = random.Random(20261122)
    config = b'<?xml version="1.0"?>\n<gs_provision>\n  <mac>000b82aabbcc</mac>\n</gs_provision>\n'
    return {
        SMALL: config,
        IN_DIR: config.replace(b"<mac>", b"<dir/><mac>"),
        MULT1468: rng.randbytes(1468 * 20),
        MULT512: rng.randbytes(512 * 64),
        FW3M: rng.randbytes(3_000_000),
        ROLLOVER: rng.randbytes(512 * 65_536 + 1_000),
    }


class Store:
    """Resolver over in-memory files that records every name it is asked for."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, filename: str, client_ip: str) -> bytes | None:
        with self._lock:
            self.calls.append(filename)
        if filename == BOOM:
            raise RuntimeError("resolver bug")
        if filename == SECRET:
            raise TftpAccessDenied("not for you")
        return self.files.get(filename)


class RawClient:
    """One UDP socket that speaks TFTP packet by packet, to probe the server's answers."""

    def __init__(self, server: Address) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, datagram: bytes, to: Address | None = None) -> None:
        self.sock.sendto(datagram, to or self.server)

    def rrq(
        self, name: bytes | str, options: Mapping[str, object] | None = None, mode: str = "octet"
    ) -> None:
        self.send(encode_request(Opcode.RRQ, name, mode, options))

    def recv(self, timeout: float = 2.0) -> tuple[Packet, Address]:
        self.sock.settimeout(timeout)
        data, addr = self.sock.recvfrom(70_000)
        return decode(data), addr

    def error(self) -> Error:
        packet, _ = self.recv()
        assert isinstance(packet, Error), packet
        return packet

    def blocks(self, count: int) -> list[int]:
        packets = [self.recv()[0] for _ in range(count)]
        assert all(isinstance(packet, Data) for packet in packets), packets
        return [packet.block for packet in packets if isinstance(packet, Data)]

    def silent_for(self, seconds: float) -> bool:
        try:
            self.recv(seconds)
        except TimeoutError:
            return True
        return False

    def abort(self, peer: Address) -> None:
        """End a transfer the test no longer needs, so the server frees it at once."""
        self.send(encode_error(0, "test done"), peer)


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def curl(port: int, name: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(["curl", "-sS", *extra, "-o", str(out), f"tftp://{HOST}:{port}/{name}"])


def atftp(
    port: int, name: str, out: Path, *options: str, trace: bool = False
) -> subprocess.CompletedProcess[str]:
    flags = ["--trace"] if trace else []
    for option in options:
        flags += ["--option", option]
    return run(["atftp", *flags, "-g", "-r", name, "-l", str(out), HOST, str(port)])


def atftp_trace(result: subprocess.CompletedProcess[str]) -> str:
    """atftp traces to stderr and erases an option list's last ", " with two backspaces."""
    return result.stderr.replace(", \b\b", "")


def tftp_hpa(port: int, name: str, out: Path) -> subprocess.CompletedProcess[str]:
    """tftp-hpa exits 0 even on errors: callers check its output and the file."""
    return run(["tftp", HOST, str(port), "-m", "binary", "-c", "get", name, str(out)])


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return make_files()


@pytest.fixture(scope="module")
def store(files: dict[str, bytes]) -> Store:
    return Store(files)


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[TftpThread]:
    with serve_in_thread(store, HOST, 0, timeout=1.0, retries=3) as thread:
        yield thread


@pytest.fixture
def port(server: TftpThread) -> int:
    return server.address[1]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


# --- real clients --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [SMALL, MULT1468, MULT512, FW3M])
def test_tftp_hpa_gets_identical_bytes(
    port: int, files: dict[str, bytes], out: Path, name: str
) -> None:
    result = tftp_hpa(port, name, out)
    assert "Error" not in result.stdout + result.stderr
    assert out.read_bytes() == files[name]


def test_tftp_hpa_reports_a_missing_file(port: int, out: Path) -> None:
    assert "Error code 1: File not found" in tftp_hpa(port, "missing.cfg", out).stdout


@pytest.mark.parametrize("blksize", [None, "1468", "65464"])
@pytest.mark.parametrize("name", [SMALL, IN_DIR, MULT1468, MULT512, FW3M])
def test_curl_gets_identical_bytes(
    port: int, files: dict[str, bytes], out: Path, name: str, blksize: str | None
) -> None:
    result = curl(port, name, out, *(["--tftp-blksize", blksize] if blksize else []))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files[name]  # IN_DIR differs from SMALL: the name went as sent


def test_curl_missing_file_is_exit_68_and_the_server_keeps_serving(
    port: int, files: dict[str, bytes], out: Path
) -> None:
    assert curl(port, "missing.cfg", out).returncode == 68  # CURLE_TFTP_NOTFOUND
    assert curl(port, SMALL, out).returncode == 0
    assert out.read_bytes() == files[SMALL]


def test_atftp_sees_the_real_tsize_in_the_oack(
    port: int, files: dict[str, bytes], out: Path
) -> None:
    result = atftp(port, MULT1468, out, "tsize enable", "blksize 1468", trace=True)
    assert result.returncode == 0, result.stderr
    # atftp 0.8 sends the literal value "enable"; tsize in an RRQ is answered anyway
    trace = atftp_trace(result)
    assert "<tsize: enable, blksize: 1468>" in trace
    assert f"received OACK <tsize: {len(files[MULT1468])}, blksize: 1468>" in trace
    assert out.read_bytes() == files[MULT1468]


def test_atftp_with_windowsize_gets_identical_bytes(
    port: int, files: dict[str, bytes], out: Path
) -> None:
    result = atftp(port, FW3M, out, "blksize 1468", "windowsize 8")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files[FW3M]


def test_atftp_blksize_disable_is_dropped_from_the_oack(
    port: int, files: dict[str, bytes], out: Path
) -> None:
    result = atftp(port, MULT1468, out, "blksize disable", "timeout 1", trace=True)
    assert result.returncode == 0, result.stderr
    trace = atftp_trace(result)
    assert "sent RRQ <file: mult1468.bin, mode: octet <timeout: 1, blksize: disable>>" in trace
    assert "received OACK <timeout: 1>" in trace
    assert out.read_bytes() == files[MULT1468]


def test_rollover_windowed_atftp(port: int, files: dict[str, bytes], out: Path) -> None:
    result = atftp(port, ROLLOVER, out, "blksize 512", "windowsize 16")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files[ROLLOVER]


def test_rollover_lock_step_curl(port: int, files: dict[str, bytes], out: Path) -> None:
    result = curl(port, ROLLOVER, out, "--tftp-blksize", "512")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == files[ROLLOVER]


def test_real_clients_cannot_traverse(port: int, store: Store, out: Path) -> None:
    before = len(store.calls)
    # curl squashes "../" unless told not to; "//etc" is sent as "/etc/passwd"
    assert curl(port, "../etc/passwd", out, "--path-as-is").returncode == 69  # CURLE_TFTP_PERM
    assert curl(port, "/etc/passwd", out).returncode == 69
    assert "Error code 2" in tftp_hpa(port, "../etc/passwd", out).stdout
    assert curl(port, SECRET, out).returncode == 69
    assert len(store.calls) == before + 1  # only SECRET reached the resolver


# --- raw UDP: protocol details -------------------------------------------------------------


def test_tsize_answers_the_real_size(server: TftpThread, files: dict[str, bytes]) -> None:
    with RawClient(server.address) as client:
        client.rrq(FW3M, {"tsize": 0})
        packet, peer = client.recv()
        assert packet == OAck({"tsize": str(len(files[FW3M]))})
        client.abort(peer)


def test_windowsize_sends_a_window_then_resumes_after_the_acked_block(
    server: TftpThread,
) -> None:
    with RawClient(server.address) as client:
        client.rrq(FW3M, {"blksize": 512, "windowsize": 4})
        packet, peer = client.recv()
        assert packet == OAck({"blksize": "512", "windowsize": "4"})
        client.send(encode_ack(0), peer)
        assert client.blocks(4) == [1, 2, 3, 4]
        assert client.silent_for(0.3)  # the window is full: wait for an ACK
        client.send(encode_ack(2), peer)  # RFC 7440: 3 and 4 were lost, resend from 3
        assert client.blocks(4) == [3, 4, 5, 6]
        client.send(encode_ack(2), peer)  # duplicate and stale ACKs are ignored: no
        client.send(encode_ack(1), peer)  # Sorcerer's Apprentice, only the timer resends
        assert client.silent_for(0.3)
        client.abort(peer)


def test_negotiated_timeout_drives_retransmission(store: Store, files: dict[str, bytes]) -> None:
    with serve_in_thread(store, HOST, 0, timeout=10.0) as srv, RawClient(srv.address) as client:
        client.rrq(SMALL, {"timeout": 1})
        packet, peer = client.recv()
        assert packet == OAck({"timeout": "1"})
        client.send(encode_ack(0), peer)
        started = time.monotonic()
        assert client.recv() == (Data(1, files[SMALL]), peer)
        assert client.recv(timeout=2.0) == (Data(1, files[SMALL]), peer)  # after 1 s, not 10
        assert 0.8 < time.monotonic() - started < 1.8
        client.abort(peer)


def test_exact_multiple_ends_with_an_empty_block(
    server: TftpThread, files: dict[str, bytes]
) -> None:
    sizes = []
    with RawClient(server.address) as client:
        client.rrq(MULT512)
        for block in range(1, 66):
            packet, peer = client.recv()
            assert isinstance(packet, Data)
            assert packet.block == block
            sizes.append(len(packet.payload))
            client.send(encode_ack(block), peer)
    assert sizes == [512] * 64 + [0]


def test_netascii_is_served_as_binary(server: TftpThread, files: dict[str, bytes]) -> None:
    with RawClient(server.address) as client:
        client.rrq(SMALL, mode="NetASCII")
        packet, peer = client.recv()
        assert packet == Data(1, files[SMALL])  # bare "\n", no CR added
        client.send(encode_ack(1), peer)


UNSAFE_NAMES = [
    b"../etc/passwd",
    b"/etc/passwd",
    b"a/../../b",
    b"..",
    b"..\\windows\\win.ini",
    b"\\etc\\passwd",
    b"cfg\x01.xml",
    b"cfg\x7f.xml",
    "cfg\u0085.xml".encode(),
    b"\xff\xfecfg.xml",
    b"a" * 256,
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_names_are_refused_before_the_resolver(
    server: TftpThread, store: Store, name: bytes
) -> None:
    before = len(store.calls)
    with RawClient(server.address) as client:
        client.rrq(name)
        assert client.error().code == ErrorCode.ACCESS_VIOLATION
    assert len(store.calls) == before


@pytest.mark.parametrize("name", ["a" * 255, "a..b.cfg", "x/..cfg", "dir/.../cfg"])
def test_odd_but_safe_names_reach_the_resolver(server: TftpThread, store: Store, name: str) -> None:
    with RawClient(server.address) as client:
        client.rrq(name)
        assert client.error() == Error(ErrorCode.FILE_NOT_FOUND, "File not found")
    assert store.calls[-1] == name


def test_nul_inside_the_name_is_refused_before_the_resolver(
    server: TftpThread, store: Store
) -> None:
    before = len(store.calls)
    with RawClient(server.address) as client:
        client.send(b"\x00\x01" + SMALL.encode() + b"\x00../../etc/passwd\x00octet\x00")
        assert client.error().code == ErrorCode.ILLEGAL_OPERATION
    assert len(store.calls) == before


BAD_PACKETS = [
    pytest.param(b"", 4, "too short", id="empty"),
    pytest.param(b"\x01", 4, "too short", id="one-byte"),
    pytest.param(b"\x00\x01cfg.xml\x00octet", 4, "NUL", id="rrq-without-nul"),
    pytest.param(b"\x00\x01cfg.xml\x00", 4, "mode", id="rrq-without-mode"),
    pytest.param(b"\x00\x01\x00octet\x00", 4, "empty file name", id="empty-name"),
    pytest.param(b"\x00\x01cfg.xml\x00octet\x00blksize\x00", 4, "without a value", id="odd"),
    pytest.param(b"\x00\x01a\x00octet\x00\x00512\x00", 4, "empty option", id="empty-option"),
    pytest.param(b"\x00\x01a\x00octet\x00tsize\x000\x00TSIZE\x000\x00", 4, "dup", id="dup"),
    pytest.param(b"\x00\x01a\x00\xe9\x00", 4, "not ASCII", id="mode-not-ascii"),
    pytest.param(b"\x00\x09junk\x00", 4, "unknown opcode", id="unknown-opcode"),
    pytest.param(b"\x00\x03", 4, "too short", id="short-data"),
    pytest.param(encode_data(1, b"x"), 4, None, id="data-at-listener"),
    pytest.param(b"\x00\x06blksize\x00512\x00", 4, None, id="oack-at-listener"),
    pytest.param(encode_request(Opcode.RRQ, SMALL, "mail"), 4, None, id="mail-mode"),
    pytest.param(encode_request(Opcode.RRQ, SMALL, "bogus"), 4, None, id="unknown-mode"),
    pytest.param(encode_request(Opcode.WRQ, SMALL), 2, None, id="write-request"),
]


@pytest.mark.parametrize(("datagram", "code", "reason"), BAD_PACKETS)
def test_bad_packets_get_an_error_and_the_server_keeps_serving(
    server: TftpThread, files: dict[str, bytes], datagram: bytes, code: int, reason: str | None
) -> None:
    if reason is not None:
        with pytest.raises(MalformedPacket, match=reason):
            decode(datagram)
    with RawClient(server.address) as client:
        client.send(datagram)
        error = client.error()
    assert error.code == code
    if code == ErrorCode.ACCESS_VIOLATION:
        assert error.message == "read-only server"
    assert fetch_sync(server.address, SMALL) == files[SMALL]


@pytest.mark.parametrize("datagram", [encode_ack(0), encode_error(0, "bye")])
def test_ack_or_error_at_the_listener_is_not_answered(server: TftpThread, datagram: bytes) -> None:
    # tftp-hpa ACKs every ERROR it receives, including one from the listener
    with RawClient(server.address) as client:
        client.send(datagram)
        assert client.silent_for(0.3)


@pytest.mark.parametrize(
    "option",
    [
        ("blksize", "disable"),
        ("blksize", "-5"),
        ("blksize", "7"),
        ("blksize", ""),
        ("blksize", "51\u00b2"),  # "²" passes str.isdigit()
        ("timeout", "0"),
        ("timeout", "256"),
        ("timeout", "1.5"),
        ("windowsize", "abc"),
        ("windowsize", "0"),
        ("windowsize", "65536"),
    ],
)
def test_bad_option_values_are_left_out_of_the_oack(
    server: TftpThread, files: dict[str, bytes], option: tuple[str, str]
) -> None:
    name, value = option
    with RawClient(server.address) as alone, RawClient(server.address) as with_tsize:
        alone.rrq(FW3M, {name: value})
        packet, peer = alone.recv()
        assert packet == Data(1, files[FW3M][:512])  # no OACK at all: RFC 1350 defaults
        alone.abort(peer)
        with_tsize.rrq(FW3M, {name: value, "tsize": 0})
        packet, peer = with_tsize.recv()
        assert packet == OAck({"tsize": str(len(files[FW3M]))})
        with_tsize.abort(peer)
    assert fetch_sync(server.address, SMALL) == files[SMALL]


@pytest.mark.parametrize(
    ("options", "answer"),
    [
        ({"blksize": "70000"}, {"blksize": "65464"}),
        ({"blksize": "8", "windowsize": "8192"}, {"blksize": "8", "windowsize": "8192"}),
        # a window is capped at 64 KiB: a spoofed RRQ must not blast a whole image
        ({"windowsize": "65535"}, {"windowsize": "128"}),
        ({"windowsize": "100", "blksize": "1468"}, {"windowsize": "44", "blksize": "1468"}),
        ({"blksize": "65464", "windowsize": "16"}, {"blksize": "65464", "windowsize": "1"}),
        ({"BlkSize": "1468", "TSIZE": "0"}, {"blksize": "1468", "tsize": "3000000"}),
        ({"timeout": "255"}, {"timeout": "255"}),
        # what Grandstream firmware sends: the proprietary options are ignored
        (
            {"timeout": "4", "grandstream_MODEL": "GXP2170", "grandstream_ID": "000b82aabbcc"},
            {"timeout": "4"},
        ),
        ({"grandstream_MODEL": "GXP2170"}, None),
        ({"multicast": ""}, None),  # atftp --option multicast
    ],
)
def test_option_negotiation(
    server: TftpThread,
    files: dict[str, bytes],
    options: dict[str, str],
    answer: dict[str, str] | None,
) -> None:
    with RawClient(server.address) as client:
        client.rrq(FW3M, options)
        packet, peer = client.recv()
        # never an OACK with an option the client did not ask for
        assert packet == (OAck(answer) if answer else Data(1, files[FW3M][:512]))
        client.abort(peer)


def test_packet_from_another_port_gets_error_5_and_the_transfer_goes_on(
    server: TftpThread, files: dict[str, bytes]
) -> None:
    with RawClient(server.address) as client, RawClient(server.address) as intruder:
        client.rrq(MULT512)
        packet, peer = client.recv()
        assert packet == Data(1, files[MULT512][:512])
        intruder.send(encode_ack(1), peer)
        assert intruder.error() == Error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID")
        assert client.silent_for(0.3)  # the intruder's ACK did not move the transfer
        client.send(encode_ack(1), peer)
        assert client.recv() == (Data(2, files[MULT512][512:1024]), peer)
        client.abort(peer)


def test_resolver_failure_is_error_0_and_the_server_keeps_serving(
    server: TftpThread, files: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with RawClient(server.address) as client:
        client.rrq(BOOM)
        assert client.error() == Error(ErrorCode.NOT_DEFINED, "internal error")
    assert "resolver failed for 'boom.cfg'" in caplog.text
    assert "RuntimeError: resolver bug" in caplog.text
    assert fetch_sync(server.address, SMALL) == files[SMALL]


def test_access_denied_is_error_2_with_the_resolvers_message(server: TftpThread) -> None:
    with RawClient(server.address) as client:
        client.rrq(SECRET)
        assert client.error() == Error(ErrorCode.ACCESS_VIOLATION, "not for you")


def test_each_finished_transfer_is_logged_once(
    server: TftpThread, files: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provisioner.tftp")
    assert fetch_sync(server.address, MULT1468, {"blksize": 1468}) == files[MULT1468]
    line = f"ok '{MULT1468}' to {HOST}:"
    assert wait_until(lambda: line in caplog.text, 2.0)
    assert caplog.text.count(line) == 1
    assert f": {len(files[MULT1468])} bytes" in caplog.text


def test_100_concurrent_fetches_are_all_identical(
    server: TftpThread, files: dict[str, bytes]
) -> None:
    plan: list[tuple[str, dict[str, int]]] = [
        (SMALL, {}),
        (MULT1468, {"blksize": 1468}),
        (MULT512, {"tsize": 0}),
        (MULT1468, {"blksize": 512, "windowsize": 4}),
    ] * 25

    async def fetch_all() -> list[bytes]:
        jobs = (fetch(server.address, name, options) for name, options in plan)
        return await asyncio.wait_for(asyncio.gather(*jobs), 20)

    assert asyncio.run(fetch_all()) == [files[name] for name, _ in plan]


# --- sessions: lifetime, limits, resources --------------------------------------------------


def test_client_refusing_the_oack_ends_the_session_quietly(store: Store) -> None:
    with serve_in_thread(store, HOST, 0, timeout=5.0) as srv, RawClient(srv.address) as client:
        client.rrq(SMALL, {"tsize": 0})
        packet, peer = client.recv()
        assert isinstance(packet, OAck)
        client.send(encode_error(ErrorCode.OPTION_REFUSED, "option refused"), peer)
        assert wait_until(lambda: srv.server.active_sessions == 0, 1.0)
        assert client.silent_for(0.2)  # no ERROR back, no OACK retransmitted


def test_duplicate_rrq_does_not_start_a_second_session(
    store: Store, files: dict[str, bytes]
) -> None:
    with serve_in_thread(store, HOST, 0, timeout=5.0) as srv, RawClient(srv.address) as client:
        client.rrq(SMALL)
        client.rrq(SMALL)
        packet, peer = client.recv()
        assert packet == Data(1, files[SMALL])
        assert client.silent_for(0.3)
        assert srv.server.active_sessions == 1
        client.send(encode_ack(1), peer)
        assert wait_until(lambda: srv.server.active_sessions == 0, 1.0)


def test_unacknowledged_data_is_retransmitted_then_dropped(
    store: Store, files: dict[str, bytes]
) -> None:
    with (
        serve_in_thread(store, HOST, 0, timeout=0.2, retries=2) as srv,
        RawClient(srv.address) as client,
    ):
        client.rrq(SMALL)
        copies = [client.recv() for _ in range(3)]  # the first send and two retries
        assert {packet for packet, _ in copies} == {Data(1, files[SMALL])}
        assert len({peer for _, peer in copies}) == 1
        assert client.silent_for(0.5)
        assert wait_until(lambda: srv.server.active_sessions == 0, 1.0)


STALLED = 3000


@pytest.fixture
def open_files_limit() -> Iterator[None]:
    """Each stalled session costs a socket here and one in the server (same process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * STALLED + 1000
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _count_waiting(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    with contextlib.suppress(BlockingIOError):
        while sock.recv(2048):
            count += 1
    return count


@pytest.mark.usefixtures("open_files_limit")
def test_thousands_of_stalled_clients_do_not_stop_new_fetches(
    files: dict[str, bytes], out: Path
) -> None:
    store = Store(files)
    timeout, retries = 2.0, 1  # sessions live 4 s: longer than opening them all takes
    with (
        serve_in_thread(store, HOST, 0, timeout=timeout, retries=retries) as srv,
        contextlib.ExitStack() as stack,
    ):
        socks = [stack.enter_context(socket.socket(type=socket.SOCK_DGRAM)) for _ in range(STALLED)]
        for sock in socks:
            sock.bind((HOST, 0))
        rrq = encode_request(Opcode.RRQ, SMALL)
        # In bursts of 100: one burst of 3,000 would overflow the listener's receive buffer.
        for start in range(0, STALLED, 100):
            batch = socks[start : start + 100]
            target = start + len(batch)
            for _ in range(3):  # resend a dropped burst; duplicates of live sessions are ignored
                for sock in batch:
                    sock.sendto(rrq, srv.address)
                if wait_until(lambda n=target: len(store.calls) >= n, 2.0):
                    break
            else:
                pytest.fail(f"only {len(store.calls)} of {target} RRQs were served")
        assert srv.server.active_sessions == STALLED

        started = time.monotonic()
        result = curl(srv.address[1], MULT1468, out, "--tftp-blksize", "1468")
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 3
        assert out.read_bytes() == files[MULT1468]
        assert srv.server.active_sessions >= STALLED  # they were still stalled meanwhile

        assert wait_until(lambda: srv.server.active_sessions == 0, timeout * (retries + 1) + 3)
        assert len(store.calls) == STALLED + 1
        # each stalled client got DATA 1 once plus once per retry, and nothing else
        assert Counter(_count_waiting(sock) for sock in socks) == {retries + 1: STALLED}


def test_past_max_sessions_new_requests_get_server_busy(files: dict[str, bytes]) -> None:
    store = Store(files)
    with (
        serve_in_thread(store, HOST, 0, max_sessions=100, timeout=5.0) as srv,
        contextlib.ExitStack() as stack,
    ):
        clients = [stack.enter_context(RawClient(srv.address)) for _ in range(101)]
        for client in clients[:100]:
            client.rrq(SMALL)
        peers = [client.recv()[1] for client in clients[:100]]
        assert srv.server.active_sessions == 100
        clients[100].rrq(SMALL)
        assert clients[100].error() == BUSY
        assert len(store.calls) == 100  # refused without asking the resolver
        for client, peer in zip(clients, peers, strict=False):
            client.abort(peer)
        assert wait_until(lambda: srv.server.active_sessions == 0, 2.0)
        assert fetch_sync(srv.address, SMALL) == files[SMALL]


def _limit_leaving_free(free: int) -> int:
    """An RLIMIT_NOFILE soft limit under which only `free` (or one more) descriptors can open."""
    used = {int(fd) for fd in os.listdir("/proc/self/fd")}
    limit = 0
    while free:
        free -= limit not in used
        limit += 1
    return limit


def test_running_out_of_sockets_answers_server_busy(store: Store, files: dict[str, bytes]) -> None:
    with (
        serve_in_thread(store, HOST, 0, timeout=5.0) as srv,
        contextlib.ExitStack() as stack,
    ):
        clients = [stack.enter_context(RawClient(srv.address)) for _ in range(10)]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        answers = []
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (_limit_leaving_free(3), hard))
            for client in clients:
                client.rrq(SMALL)
                answers.append(client.recv()[0])
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert answers[0] == Data(1, files[SMALL])
        assert answers[4:] == [BUSY] * 6
        assert set(answers) <= {Data(1, files[SMALL]), BUSY}
        assert fetch_sync(srv.address, SMALL) == files[SMALL]


def test_bind_error_is_raised_in_the_callers_thread(store: Store) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((HOST, 0))
        with pytest.raises(OSError, match="in use"):
            serve_in_thread(store, HOST, taken.getsockname()[1])


def test_stop_ends_sessions_and_releases_the_port(store: Store) -> None:
    thread = serve_in_thread(store, HOST, 0, timeout=5.0)
    address = thread.address
    with RawClient(address) as client:
        client.rrq(MULT512)
        assert isinstance(client.recv()[0], Data)
        assert thread.server.active_sessions == 1
        thread.stop()
    assert not thread.is_alive()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(address)


def test_the_listener_can_queue_a_boot_storm_of_requests(files: dict[str, bytes]) -> None:
    """The default receive buffer (~200 kB) drops RRQs past a few hundred at once."""
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    with serve_in_thread(Store(files), HOST, 0) as srv:
        assert srv.server._listener is not None
        sock = srv.server._listener.get_extra_info("socket")
        # Linux reports twice what was granted (its bookkeeping overhead).
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    assert granted >= min(LISTENER_BUFFER, rmem_max)
    assert granted > 212_992
