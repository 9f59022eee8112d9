"""The HTTP server's entry: device files answered at once, anything else with its whole body
first, then the WSGI application in a thread.

Under granian's WSGI interface a view reads its body lazily inside one of a handful of
blocking threads, so a client that sends its body one byte a second holds a thread for as
long as it likes: eight of them stopped all HTTP service (docs/security.md, "Web front door").
Here granian runs the RSGI interface instead: the event loop reads each body asynchronously
under a deadline (408 past it) and a per-path size limit (413 over it), and only a request
whose body is complete takes a thread of a bounded pool to run the unchanged WSGI application
(Flask) with the buffered body. A slow client then costs a coroutine and a buffer, never a
thread. A device file (``direct``) is answered on the event loop from the RSGI scope itself.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.wsgi import _RangeWrapper  # what send_file answers a Range with

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * KIB
# Longest body first: the first matching prefix decides. Logins carry a name and a password;
# a gateway's CDR batch is at most 1,000 records; sheets, phonebooks and forms up to the
# admin API's MAX_BODY (a sheet of 100,000 rows is about 10 MB). Anything else (device files
# are GETs) needs no real body.
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/staging/login", 16 * KIB),
    ("/customer/login", 16 * KIB),
    ("/gateway/", 4 * MIB),
    ("/api/", 16 * MIB),
    ("/staging/", 16 * MIB),
    ("/customer/", 16 * MIB),
)
DEFAULT_BODY_LIMIT = 64 * KIB
# Bytes of bodies a worker holds at once (received, not yet answered). A body is buffered before
# anyone is authenticated, so without a bound a few fast 16 MiB bodies at a time could take a
# worker's memory; past it a body gets 503. Slow bodies hold only what they have sent.
BUFFER_BUDGET = 128 * MIB
STREAM_BATCH = 256 * KIB  # a streamed answer (a firmware image) goes out in pieces this big


class Direct(Protocol):
    """Requests answered from their parts on the event loop (``device_files.DeviceFiles``)."""

    matches: Callable[[str, str], bool]  # (method, path)

    def answer(
        self,
        method: str,
        path: str,
        query: str,
        header: Callable[[str], str | None],
        remote: str,
        scheme: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]: ...


class BodyRefused(Exception):
    """The body cannot be taken: the status and the plain-text reason to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Scope(Protocol):
    """What this module reads of granian's RSGI scope."""

    proto: str
    http_version: str
    client: str
    server: str
    scheme: str
    method: str
    path: str
    query_string: str

    @property
    def headers(self) -> Any: ...


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` may carry."""
    for prefix, limit in BODY_LIMITS:
        if path.startswith(prefix):
            return limit
    return DEFAULT_BODY_LIMIT


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    head: bytes  # the whole body, or its first batch when ``rest`` streams the remainder
    rest: Iterator[bytes] | None
    file: tuple[str, int, int] | None = None  # a file's path and byte range [start, end)


class FileAnswer(Iterator[bytes]):
    """``wsgi.file_wrapper`` (PEP 3333): a file the application answers with (``send_file``:
    firmware images) is handed to granian by path, which sends it from disk at the client's
    pace. Streamed through the event loop instead, a 60 MB image to a slow client piled up in
    memory. Iterating it (a wrapper that reads it) still works."""

    def __init__(self, file: Any, block_size: int = 8192) -> None:
        self.file = file
        self.block_size = block_size

    def __next__(self) -> bytes:
        data: bytes = self.file.read(self.block_size)
        if not data:
            raise StopIteration
        return data

    def close(self) -> None:
        self.file.close()

    def path(self) -> str | None:
        """The file's path when it is a plain file on disk (else it is iterated)."""
        name = getattr(self.file, "name", None)
        return name if isinstance(name, str) and os.path.isfile(name) else None


class BufferedFront:
    """An RSGI application over a WSGI one: bodies buffered under a deadline and a size
    limit on the event loop, the WSGI application run in ``threads`` threads."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        threads: int,
        body_seconds: float,
        budget: int = BUFFER_BUDGET,
        direct: Direct | None = None,
    ) -> None:
        """``direct``: requests answered on the event loop itself, from the scope, with neither
        WSGI nor Flask. A device file is answered from the render cache in about 100 us, less
        than the hop to a pool thread and back costs: ``bench.boot_storm`` went from 3.9% of
        nginx with the hop to 8.1% without it. Its rare database work (a cache miss, a first
        fetch) holds the loop for that time; everything else (pages, API, phonebooks, images)
        takes a pool thread."""
        self.direct = direct
        self.wsgi_app = wsgi_app
        self.body_seconds = body_seconds
        self.budget = _Budget(budget)  # the event loop's alone: no lock
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    def __rsgi_del__(self, loop: object) -> None:
        self.pool.shutdown(wait=True)

    async def __rsgi__(self, scope: Scope, proto: Any) -> None:
        if scope.proto != "http":
            return
        body = b""
        headers = scope.headers
        if "content-length" in headers or "transfer-encoding" in headers:
            try:
                body = await self._body(scope, proto)
            except BodyRefused as refused:
                proto.response_bytes(
                    refused.status,
                    [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                    f"{refused}\n".encode(),
                )
                return
            except Exception:  # the client went away mid-body: nobody to answer
                return
        try:
            if self.direct is not None and self.direct.matches(scope.method, scope.path):
                proto.response_bytes(*self._direct(self.direct, scope))
                return
            answer = await asyncio.get_running_loop().run_in_executor(
                self.pool, self._call, _environ(scope, body)
            )
            await self._send(proto, answer)
        finally:
            self.budget.give(len(body))

    @staticmethod
    def _direct(direct: Direct, scope: Scope) -> tuple[int, list[tuple[str, str]], bytes]:
        """A device file's answer, from the scope as granian hands it: the path already
        percent-decoded (an invalid UTF-8 sequence as U+FFFD), several headers of one name
        joined with "," as PEP 3333 joins them."""
        get_all = scope.headers.get_all

        def header(name: str) -> str | None:
            values: list[str] = get_all(name)
            return (values[0] if len(values) == 1 else ",".join(values)) if values else None

        try:
            return direct.answer(scope.method, scope.path, scope.query_string, header,
                                 _split_host(scope.client)[0], scope.scheme)  # fmt: skip
        except Exception:
            log.exception("%s %s failed", scope.method, scope.path)
            return _FAILED

    async def _send(self, proto: Any, answer: _Answer) -> None:
        """The WSGI application's answer, sent: a file by path, bytes, or a stream."""
        loop = asyncio.get_running_loop()
        if answer.file is not None:
            path, start, end = answer.file
            proto.response_file_range(answer.status, answer.headers, path, start, end)
            return
        if answer.rest is None:
            proto.response_bytes(answer.status, answer.headers, answer.head)
            return
        transport = proto.response_stream(answer.status, answer.headers)
        try:
            chunk = answer.head
            while chunk:
                await transport.send_bytes(chunk)
                chunk = await loop.run_in_executor(self.pool, _batch, answer.rest)
        finally:
            await loop.run_in_executor(self.pool, _close, answer.rest)

    async def _body(self, scope: Scope, proto: Any) -> bytes:
        """The whole body of a request that says it has one (its bytes taken from the
        budget), or BodyRefused: too long said or sent (413), too slow (408), too many bodies
        in flight (503)."""
        length_text = scope.headers.get("content-length")
        limit = body_limit(scope.path)
        if length_text is not None:
            if not (length_text.isascii() and length_text.isdigit()):
                raise BodyRefused(400, "Content-Length is not a number")
            if int(length_text) > limit:
                raise BodyRefused(413, f"the body is larger than {limit} bytes for this path")
            if int(length_text) == 0:
                return b""
        try:
            return await asyncio.wait_for(_read(proto, limit, self.budget), self.body_seconds)
        except TimeoutError:
            raise BodyRefused(
                408, f"the body did not arrive within {self.body_seconds:g} seconds"
            ) from None

    def _call(self, environ: WSGIEnvironment) -> _Answer:
        """The WSGI application on one request (in a pool thread): its answer, whole when it
        is a list (every page and device file), else its first batch and the rest to come."""
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: object = None
        ) -> Any:
            started[:] = [int(status.split(" ", 1)[0]), headers]
            return _no_write

        try:
            result = self.wsgi_app(environ, start_response)
            if isinstance(result, list | tuple):  # a page, a device file; () for HEAD and 304
                return _Answer(*started, b"".join(result), None)
            sent = _file_range(result)
            if sent is not None:
                _close(_Closing(iter(()), result))  # granian opens the path itself
                return _Answer(*started, b"", None, sent)
            chunks = iter(result)
            return _Answer(*started, _batch(chunks), _Closing(chunks, result))
        except Exception:
            log.exception("%s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return _Answer(*_FAILED, None)


_FAILED = (500, [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n")


class _Closing(Iterator[bytes]):
    """A WSGI result's iterator that remembers the result to close (PEP 3333)."""

    def __init__(self, chunks: Iterator[bytes], result: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.result = result

    def __next__(self) -> bytes:
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            close()


def _file_range(result: Iterable[bytes]) -> tuple[str, int, int] | None:
    """The path and byte range of an answer that is a file on disk, whole or a Range of it
    (Werkzeug wraps the file wrapper in its ``_RangeWrapper`` for a 206)."""
    start, end = 0, None
    if isinstance(result, _RangeWrapper):
        start, end = result.start_byte, result.end_byte
        result = result.iterable
    if not isinstance(result, FileAnswer):
        return None
    path = result.path()
    if path is None:
        return None
    return path, start, os.path.getsize(path) if end is None else end


class _Budget:
    """Bytes of bodies held now, against a bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        if self.used + size > self.limit:
            raise BodyRefused(503, "too many request bodies in flight: try again shortly")
        self.used += size

    def give(self, size: int) -> None:
        self.used -= size


async def _read(proto: Any, limit: int, budget: _Budget) -> bytes:
    """The body, its bytes taken from ``budget`` as they arrive (given back if refused)."""
    received = bytearray()
    try:
        async for chunk in proto:
            budget.take(len(chunk))
            received += chunk
            if len(received) > limit:
                raise BodyRefused(413, f"the body is larger than {limit} bytes for this path")
    except BaseException:
        budget.give(len(received))
        raise
    return bytes(received)


def _batch(chunks: Iterator[bytes]) -> bytes:
    """The next pieces of a streamed answer, up to about ``STREAM_BATCH`` bytes."""
    batch = bytearray()
    for chunk in chunks:
        batch += chunk
        if len(batch) >= STREAM_BATCH:
            break
    return bytes(batch)


def _close(chunks: Iterator[bytes]) -> None:
    if isinstance(chunks, _Closing):
        chunks.close()


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() of PEP 3333 is not offered: return the body")


def _split_host(text: str) -> tuple[str, str]:
    """``ip:port`` or ``[v6]:port`` (as granian writes peers) -> (ip, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), port


def _environ(scope: Scope, body: bytes) -> WSGIEnvironment:
    """The PEP 3333 environment of a request whose body is all here."""
    remote, remote_port = _split_host(scope.client)
    server, server_port = _split_host(scope.server)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the path's bytes as latin-1 characters (granian hands them decoded)
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": remote,
        "REMOTE_PORT": remote_port,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileAnswer,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is whole: its length is what it is
        if key != "CONTENT_TYPE":
            key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
