"""Read-only asyncio TFTP server (RFC 1350, 2347-2349, 7440) for bytes rendered on demand.

Our own loop, not tftpy's: tftpy 0.8.7 dies on one malformed option value, exits after the first
in-memory transfer, crashes past ~1,020 sessions (select) and drops `timeout` and `windowsize`.

What each refusal looks like on the wire, so device logs can be read against it:
- WRQ: ERROR 2 "read-only server".
- A name with a ".." segment, a leading "/" or "\\", a control character, invalid UTF-8 or more
  than 255 bytes: ERROR 2, and the resolver is never called. Nothing is stripped from names.
- "octet" and "netascii" are both sent as the resolver's bytes (or Payload), unconverted (the
  renderer already writes the line ends a device wants); "mail" and unknown modes: ERROR 4.
- Garbage at the listener (too short, no NUL terminator, unknown opcode, option without value,
  duplicate option, DATA, OACK): ERROR 4. An ACK or ERROR there is ignored.
- More than `max_sessions`, or no socket left for a session: ERROR 0 "server busy".
- File not found: ERROR 1. Resolver raised TftpAccessDenied: ERROR 2 with its message; any other
  exception: ERROR 0 "internal error".
- An option with a bad value (`blksize disable`, `timeout 0`, ...) is left out of the OACK rather
  than refused with ERROR 8: the device falls back to RFC 1350 defaults and still gets its file.
  tsize in an RRQ is answered whatever value it carries (atftp 0.8 sends "enable").
- blksize above 65464 is answered 65464; windowsize is answered at most 64 KiB / blksize blocks.
"""

import asyncio
import contextlib
import functools
import logging
import os
import re
import resource
import socket
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

import uvloop

from provisioner.tftp.packets import (
    Ack,
    Error,
    ErrorCode,
    MalformedPacket,
    Opcode,
    Request,
    decode,
    encode_data,
    encode_error,
    encode_oack,
)

logger = logging.getLogger("provisioner.tftp")


class Payload(Protocol):
    """A file served block by block, for images too large to hold in memory per session."""

    @property
    def size(self) -> int: ...

    def read_block(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None:
        """The transfer is over: release what reading needed."""


class BytesPayload:
    """What a resolver's bytes become: rendered configs are small and already in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.size = len(data)

    def read_block(self, offset: int, length: int) -> bytes:
        return bytes(self._data[offset : offset + length])

    def close(self) -> None:
        """Nothing to release: the bytes go with the session."""


class FilePayload:
    """A file on disk, read with pread per block: nothing is cached, so memory stays flat
    whatever the image size; the handle is opened at the first block and closed when the
    transfer ends (``close``), not per block (two system calls of ~21,000 at blksize 1468).

    The file must not change while it is served (catalog blobs are immutable by content).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.size = os.stat(self.path).st_size
        self._fd: int | None = None

    def read_block(self, offset: int, length: int) -> bytes:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


Resolver = Callable[[str, str], bytes | Payload | None]
Address = tuple[Any, ...]  # (host, port), or (host, port, flowinfo, scope_id) for IPv6

DEFAULT_BLKSIZE = 512
MAX_NAME_BYTES = 255
LISTENER_BUFFER = 4 << 20  # bytes of queued RRQs the listening socket may hold
# One window (and so one retransmission burst) stays under 64 KiB: a spoofed RRQ must not make
# us blast a whole firmware image at someone. RFC 7440 lets the server answer a smaller value.
MAX_WINDOW_BYTES = 65_536
_RANGES = {"blksize": (8, 65464), "timeout": (1, 255), "windowsize": (1, 65535)}
_NUMBER = re.compile(r"[0-9]{1,10}")
_SEPARATOR = re.compile(r"[/\\]")
_MODES = frozenset({"octet", "netascii"})
_BUSY = "server busy"


class TftpAccessDenied(Exception):
    """Raised by a resolver to refuse a file: the client gets ERROR 2 with this message."""


class _Refused(Exception):
    """A request answered with an ERROR before any transfer starts."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _peer(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


def _check_request(request: Request) -> str:
    """The file name as sent, if harmless: the resolver must never see a traversal attempt."""
    if request.mode not in _MODES:
        raise _Refused(ErrorCode.ILLEGAL_OPERATION, f"mode {request.mode!r} not supported")
    if len(request.filename) > MAX_NAME_BYTES:
        raise _Refused(ErrorCode.ACCESS_VIOLATION, "file name too long")
    try:
        name = request.filename.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(ErrorCode.ACCESS_VIOLATION, "file name is not UTF-8") from None
    if name.startswith(("/", "\\")):
        raise _Refused(ErrorCode.ACCESS_VIOLATION, "absolute path")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise _Refused(ErrorCode.ACCESS_VIOLATION, "control character in file name")
    if ".." in _SEPARATOR.split(name):
        raise _Refused(ErrorCode.ACCESS_VIOLATION, "'..' in file name")
    return name


@dataclass(frozen=True, slots=True)
class _Options:
    """What an RRQ negotiated; `accepted` goes into the OACK (empty: no OACK)."""

    blksize: int
    windowsize: int
    timeout: float
    accepted: dict[str, int]


def _option_value(name: str, value: str) -> int | None:
    """None for a bad value. A blksize above the maximum is clamped, as RFC 2348 allows."""
    low, high = _RANGES[name]
    if not _NUMBER.fullmatch(value):
        return None
    number = min(int(value), high) if name == "blksize" else int(value)
    return number if low <= number <= high else None


def _negotiate(requested: dict[str, str], size: int, timeout: float, client: Address) -> _Options:
    """Accept what we support; unknown options (grandstream_*) and bad values are dropped."""
    accepted: dict[str, int] = {}
    for name, value in requested.items():
        if name == "tsize":
            accepted[name] = size
        elif name in _RANGES:
            number = _option_value(name, value)
            if number is None:
                logger.warning("%s: ignoring option %s=%r", _peer(client), name, value)
            else:
                accepted[name] = number
    blksize = accepted.get("blksize", DEFAULT_BLKSIZE)
    if "windowsize" in accepted:
        accepted["windowsize"] = min(accepted["windowsize"], max(1, MAX_WINDOW_BYTES // blksize))
    return _Options(
        blksize=blksize,
        windowsize=accepted.get("windowsize", 1),
        timeout=accepted.get("timeout", timeout),
        accepted=accepted,
    )


class _Transfer(asyncio.DatagramProtocol):
    """One RRQ on its own socket (the server's TID): RFC 7440 windows, retransmit on timeout.

    Blocks are numbered from 1 without wrapping here (only the wire number wraps); block 0 stands
    for the OACK, which ACK 0 acknowledges.
    """

    _transport: asyncio.DatagramTransport

    def __init__(self, client: Address, timeout: float, retries: int) -> None:
        self.client = client
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[str] = self._loop.create_future()
        self._timeout = timeout
        self._retries = retries
        self._tries = 0
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._data: Payload = BytesPayload(b"")
        self._blksize = DEFAULT_BLKSIZE
        self._window = 1
        self._oack = b""
        self._last = 0  # number of the final (short) block
        self._acked = 0  # highest block acknowledged; -1 while the OACK is unanswered
        self._sent = 0  # highest block sent

    @property
    def sent_bytes(self) -> int:
        return min(max(self._acked, 0) * self._blksize, self._data.size)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """The session's socket is closed (done, failed or cancelled): so is its file."""
        self._data.close()

    def error_received(self, exc: Exception) -> None:
        logger.debug("%s: socket error: %s", _peer(self.client), exc)

    def start(self, data: Payload, options: _Options) -> None:
        if self.done.done():  # the client gave up while the resolver ran
            return
        self._data = data
        self._blksize = options.blksize
        self._window = options.windowsize
        self._timeout = options.timeout
        self._last = data.size // options.blksize + 1
        if options.accepted:
            self._oack = encode_oack(options.accepted)
            self._acked = self._sent = -1
        self._send_window()

    def refuse(self, code: ErrorCode, message: str, status: str) -> None:
        self._transport.sendto(encode_error(code, message), self.client)
        self._finish(status)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if addr != self.client:
            logger.warning("%s: packet for %s's transfer", _peer(addr), _peer(self.client))
            self._transport.sendto(encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID"), addr)
            return
        if self.done.done():
            return
        if len(data) >= 4 and data[0] == 0 and data[1] == Opcode.ACK:  # the hot path
            self._on_ack(int.from_bytes(data[2:4], "big"))
            return
        try:
            packet = decode(data)
        except MalformedPacket as exc:
            self._protocol_error(f"malformed packet: {exc}")
            return
        if isinstance(packet, Ack):
            self._on_ack(packet.block)
        elif isinstance(packet, Error):
            self._finish(f"aborted by client (error {packet.code}: {packet.message!r})")
        else:
            self._protocol_error(f"unexpected {type(packet).__name__} packet")

    def _protocol_error(self, reason: str) -> None:
        logger.warning("%s: %s", _peer(self.client), reason)
        self.refuse(ErrorCode.ILLEGAL_OPERATION, "illegal operation", "protocol error")

    def _on_ack(self, block: int) -> None:
        ahead = (block - self._acked) & 0xFFFF
        if ahead == 0 or self._acked + ahead > self._sent:
            return  # duplicate or stale: only the timer retransmits (Sorcerer's Apprentice)
        self._acked += ahead
        self._tries = 0
        if self._acked == self._last:
            self._finish("ok")
        else:
            self._send_window()  # after an ACK inside the window, this resends the rest

    def _send_window(self) -> None:
        if self._acked < 0:
            self._transport.sendto(self._oack, self.client)
            self._sent = 0
        else:
            size = self._blksize
            self._sent = min(self._acked + self._window, self._last)
            for block in range(self._acked + 1, self._sent + 1):
                try:
                    payload = self._data.read_block((block - 1) * size, size)
                except OSError:
                    logger.exception("%s: reading block %d failed", _peer(self.client), block)
                    self.refuse(ErrorCode.NOT_DEFINED, "internal error", "read error")
                    return
                self._transport.sendto(encode_data(block, payload), self.client)
        # One timer per transfer, moved lazily: a TimerHandle per block cost more than the
        # block's system calls.
        self._deadline = self._loop.time() + self._timeout
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timer = None
        if self.done.done():
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._on_timeout)
            return
        if self._tries >= self._retries:
            self._finish("timeout")
            return
        self._tries += 1
        self._send_window()

    def _finish(self, status: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.done.done():
            self.done.set_result(status)


class _Listener(asyncio.DatagramProtocol):
    """Hands datagrams to the server; socket errors (ICMP from gone clients) need no action."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("listener socket error: %s", exc)


def _raise_open_files_limit() -> None:
    """Every session holds a socket: allow as many as the hard limit permits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        logger.warning("cannot raise the open files limit from %d to %d: %s", soft, hard, exc)


class TftpServer:
    """Answers RRQs on one socket and runs each transfer as a task with its own socket."""

    def __init__(
        self,
        resolver: Resolver,
        host: str = "127.0.0.1",
        port: int = 6969,
        *,
        max_sessions: int = 10_000,
        timeout: float = 2.0,
        retries: int = 5,
        max_workers: int = 16,
    ) -> None:
        self._resolver = resolver
        self._bind = (host, port)
        self._max_sessions = max_sessions
        self._timeout = timeout
        self._retries = retries
        self._max_workers = max_workers
        self._sessions: dict[Address, asyncio.Task[None]] = {}
        self._listener: asyncio.DatagramTransport | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Bind the listening socket; OSError if the port is taken."""
        _raise_open_files_limit()
        loop = asyncio.get_running_loop()
        # Bound here, not by the loop: the OSError then says why ("Address already in use").
        family = socket.AF_INET6 if ":" in self._bind[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # After a power cut thousands of RRQs arrive at once; the default buffer (~200 kB)
            # holds a few hundred, and the rest would be dropped. The kernel caps it at rmem_max.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LISTENER_BUFFER)
            sock.bind(self._bind)
        except OSError:
            sock.close()
            raise
        self._listener, _ = await loop.create_datagram_endpoint(
            lambda: _Listener(self._on_datagram), sock=sock
        )
        self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="tftp-resolver")
        logger.info("TFTP listening on %s", _peer(self.address))

    async def stop(self) -> None:
        """Close the listener and cancel every session (a running resolver call is abandoned)."""
        if self._listener is not None:
            self._listener.close()
        sessions = list(self._sessions.values())
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    @property
    def _transport(self) -> asyncio.DatagramTransport:
        if self._listener is None:
            raise RuntimeError("TFTP server not started")
        return self._listener

    def _reply(self, client: Address, code: ErrorCode, message: str) -> None:
        self._transport.sendto(encode_error(code, message), client)

    def _on_datagram(self, data: bytes, client: Address) -> None:
        try:
            packet = decode(data)
        except MalformedPacket as exc:
            logger.warning("%s: malformed packet: %s", _peer(client), exc)
            self._reply(client, ErrorCode.ILLEGAL_OPERATION, "illegal operation")
            return
        match packet:
            case Request(opcode=Opcode.RRQ):
                self._on_rrq(packet, client)
            case Request():
                logger.warning("%s: write request for %r refused", _peer(client), packet.filename)
                self._reply(client, ErrorCode.ACCESS_VIOLATION, "read-only server")
            case Ack() | Error():
                # tftp-hpa ACKs every ERROR it gets; answering would only add noise.
                logger.debug("%s: %s at the listener ignored", _peer(client), packet)
            case _:
                kind = type(packet).__name__
                logger.warning("%s: unexpected %s at the listener", _peer(client), kind)
                self._reply(client, ErrorCode.ILLEGAL_OPERATION, "illegal operation")

    def _on_rrq(self, request: Request, client: Address) -> None:
        if client in self._sessions:
            return  # a retransmitted RRQ: its session is already answering
        if len(self._sessions) >= self._max_sessions:
            logger.warning("%s: refused, %d sessions active", _peer(client), len(self._sessions))
            self._reply(client, ErrorCode.NOT_DEFINED, _BUSY)
            return
        try:
            name = _check_request(request)
        except _Refused as exc:
            logger.warning("%s: refused %r: %s", _peer(client), request.filename, exc.message)
            self._reply(client, exc.code, exc.message)
            return
        try:
            sock = self._open_socket()
        except OSError as exc:
            logger.warning("%s: no socket for a session: %s", _peer(client), exc)
            self._reply(client, ErrorCode.NOT_DEFINED, _BUSY)
            return
        task = asyncio.get_running_loop().create_task(
            self._serve(sock, name, request.options, client)
        )
        self._sessions[client] = task
        task.add_done_callback(functools.partial(self._session_done, client))

    def _open_socket(self) -> socket.socket:
        """A fresh ephemeral port on the listener's address: the transfer ID (RFC 1350)."""
        listener = self._transport.get_extra_info("socket")
        sock = socket.socket(listener.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((listener.getsockname()[0], 0))
        except OSError:
            sock.close()
            raise
        return sock

    async def _serve(
        self, sock: socket.socket, name: str, options: dict[str, str], client: Address
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, transfer = await loop.create_datagram_endpoint(
                lambda: _Transfer(client, self._timeout, self._retries), sock=sock
            )
        except BaseException:
            sock.close()
            raise
        try:
            await self._resolve(transfer, name, options)
            status = await transfer.done
        finally:
            transport.close()
        logger.info("%s %r to %s: %d bytes", status, name, _peer(client), transfer.sent_bytes)

    async def _resolve(self, transfer: _Transfer, name: str, options: dict[str, str]) -> None:
        """Run the blocking resolver off the loop and start the transfer, or refuse it."""
        loop = asyncio.get_running_loop()
        client = transfer.client
        try:
            data = await loop.run_in_executor(self._executor, self._resolver, name, client[0])
        except TftpAccessDenied as exc:
            transfer.refuse(ErrorCode.ACCESS_VIOLATION, str(exc) or "access denied", "denied")
        except Exception:
            logger.exception("resolver failed for %r from %s", name, _peer(client))
            transfer.refuse(ErrorCode.NOT_DEFINED, "internal error", "internal error")
        else:
            if data is None:
                transfer.refuse(ErrorCode.FILE_NOT_FOUND, "File not found", "not found")
            else:
                payload = BytesPayload(data) if isinstance(data, bytes) else data
                transfer.start(payload, _negotiate(options, payload.size, self._timeout, client))

    def _session_done(self, client: Address, task: asyncio.Task[None]) -> None:
        self._sessions.pop(client, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("session for %s failed", _peer(client), exc_info=exc)


class TftpThread(threading.Thread):
    """A TftpServer on its own event loop, for callers that are not asyncio (the CLI, tests)."""

    def __init__(self, server: TftpServer) -> None:
        super().__init__(name="tftp-server", daemon=True)
        self.server = server
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> None:
        """Returns once the socket is bound; a bind error is raised here, in the caller's thread."""
        super().start()
        self._ready.wait()
        if self._error is not None:
            self.join()
            raise self._error

    def run(self) -> None:
        # libuv's loop halves the CPU per block against asyncio's selector loop: a 30 MB
        # image at blksize 1468 is ~21,000 receive-send rounds (bench/firmware_tftp.py).
        uvloop.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.server.start()
        except Exception as exc:
            self._error = exc
            return
        finally:
            self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self.server.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        if self._loop is not None and self._stopping is not None and self.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout)

    def __enter__(self) -> "TftpThread":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_thread(resolver: Resolver, host: str, port: int, **kw: Any) -> TftpThread:
    """Start a TftpServer in a daemon thread; returns once it is bound."""
    thread = TftpThread(TftpServer(resolver, host, port, **kw))
    thread.start()
    return thread
