"""The buffering front (``provisioner.web.front``) against a fake RSGI protocol: bodies under a
deadline and a size limit, the WSGI application's answer whole or streamed, direct answers on
the event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask, Response, send_file

from provisioner.web.front import BufferedFront, body_limit
from tests.support.rsgi import Proto, Scope, answered, run

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answers what it was given: method, path, peer, query and body."""
    body = environ["wsgi.input"].read()
    seen = (f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ['REMOTE_ADDR']} "
            f"{environ['QUERY_STRING']} {environ.get('HTTP_X_TEST')} ").encode()  # fmt: skip
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [seen + body]


def test_a_whole_body_reaches_the_application() -> None:
    front = BufferedFront(echo, threads=1, body_seconds=5)
    scope = Scope("/api/v1/imports", header_pairs=[("content-length", "6"), ("x-test", "yes")])
    proto = run(front, scope, Proto([b"abc", b"def"]))
    assert proto.answer == (201, [("Content-Type", "text/plain")],
                            b"POST /api/v1/imports 192.0.2.7 a=1 yes abcdef")  # fmt: skip


def test_a_body_slower_than_the_deadline_gets_408_and_never_reaches_the_application() -> None:
    called: list[bool] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        called.append(True)
        return echo(environ, start_response)

    front = BufferedFront(app, threads=1, body_seconds=0.2)
    scope = Scope("/staging/login", header_pairs=[("content-length", "100")])
    proto = run(front, scope, Proto([b"a"] * 100, pause=0.05))
    assert proto.answer is not None
    assert proto.answer[0] == 408
    assert b"within 0.2 seconds" in proto.answer[2]
    assert called == []


def test_a_body_over_the_paths_limit_gets_413_whether_declared_or_chunked() -> None:
    front = BufferedFront(echo, threads=1, body_seconds=5)
    declared = Scope("/staging/login", header_pairs=[("content-length", str(16 * 1024 + 1))])
    assert run(front, declared, Proto([])).answer == (
        413,
        [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
        b"the body is larger than 16384 bytes for this path\n",
    )
    chunked = Scope("/gateway/x/cdrs", header_pairs=[("transfer-encoding", "chunked")])
    answer = run(front, chunked, Proto([b"x" * 1024 * 1024] * 5)).answer
    assert answer is not None
    assert answer[0] == 413


def test_limits_follow_the_path() -> None:
    assert body_limit("/staging/login") == 16 * 1024
    assert body_limit("/staging/sheet") == 16 * 1024 * 1024
    assert body_limit("/gateway/001122334455/cdrs") == 4 * 1024 * 1024
    assert body_limit("/cfg000b82000001.xml") == 64 * 1024


def test_a_streamed_answer_goes_out_in_batches_and_is_closed() -> None:
    closed: list[bool] = []

    class Chunks:
        def __iter__(self) -> Any:
            return iter([b"x" * 100_000] * 6)

        def close(self) -> None:
            closed.append(True)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Chunks()

    proto = run(BufferedFront(app, threads=2, body_seconds=5), Scope("/f", "GET"), Proto([]))
    assert b"".join(proto.streamed) == b"x" * 600_000
    assert len(proto.streamed) == 2  # 256 KiB batches: 300,000 bytes each
    assert closed == [True]


def test_an_application_error_is_a_plain_500() -> None:
    def broken(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("boom")

    proto = run(BufferedFront(broken, threads=1, body_seconds=5), Scope("/x", "GET"), Proto([]))
    assert proto.answer == (500, [("Content-Type", "text/plain; charset=utf-8")],
                            b"internal error\n")  # fmt: skip


def test_a_file_answer_goes_to_the_server_by_path_whole_or_ranged(tmp_path: Path) -> None:
    image = tmp_path / "image.bin"
    image.write_bytes(bytes(range(256)) * 40)
    flask_app = Flask(__name__)

    @flask_app.get("/image")
    def whole() -> Response:
        return send_file(image, conditional=True)

    front = BufferedFront(flask_app.wsgi_app, threads=1, body_seconds=5)
    answer = run(front, Scope("/image", "GET"), Proto([])).answer
    assert answer is not None
    assert (answer[0], answer[2]) == (200, f"{image} 0-10240".encode())
    ranged = Scope("/image", "GET", header_pairs=[("range", "bytes=100-199")])
    answer = run(front, ranged, Proto([])).answer
    assert answer is not None
    assert (answer[0], answer[2]) == (206, f"{image} 100-200".encode())
    assert ("Content-Range", "bytes 100-199/10240") in answer[1]


def test_bodies_in_flight_are_bounded_and_every_byte_is_given_back() -> None:
    front = BufferedFront(echo, threads=1, body_seconds=0.2, budget=1000)
    scope = Scope("/api/v1/imports", header_pairs=[("content-length", "900")])
    assert run(front, scope, Proto([b"x" * 900])).answer is not None
    assert front.budget.used == 0  # answered: given back
    slow = run(front, scope, Proto([b"x" * 100] * 9, pause=0.05)).answer
    assert slow is not None
    assert slow[0] == 408
    assert front.budget.used == 0  # refused mid-body: given back too
    front.budget.used = 950  # other bodies in flight
    crowded = run(front, scope, Proto([b"x" * 100] * 9)).answer
    assert crowded is not None
    assert crowded[0] == 503
    assert front.budget.used == 950


class Direct:
    """Answers ``/cfg*`` GETs with what it was given, and the thread it ran on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def matches(self, method: str, path: str) -> bool:
        return method == "GET" and path.startswith("/cfg")

    def answer(
        self,
        method: str,
        path: str,
        query: str,
        header: Callable[[str], str | None],
        remote: str,
        scheme: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        self.threads.append(threading.current_thread().name)
        if path == "/cfg-broken":
            raise RuntimeError("boom")
        seen = f"{method} {path} {query} {remote} {scheme} {header('x-a')} {header('x-b')}"
        return 200, [], seen.encode()


def test_direct_requests_are_answered_on_the_event_loop_from_the_scope() -> None:
    threads: list[str] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        threads.append(threading.current_thread().name)
        return echo(environ, start_response)

    direct = Direct()
    front = BufferedFront(app, threads=1, body_seconds=5, direct=direct)
    pairs = [("x-a", "one"), ("x-a", "two"), ("x-b", "b")]
    scope = Scope("/cfg\ufffd.xml", "GET", pairs, client="[2001:db8::7]:4000", scheme="https")
    seen = "GET /cfg\ufffd.xml a=1 2001:db8::7 https one,two b"
    assert answered(front, scope) == (200, [], seen.encode())
    assert answered(front, Scope("/api/v1/devices", "GET"))[0] == 201
    assert answered(front, Scope("/cfg.xml", "POST"))[0] == 201  # not a device file: the app's
    assert direct.threads == [threading.current_thread().name]
    assert threads == ["http_0", "http_0"]


def test_a_direct_request_with_a_body_is_answered_directly_and_its_bytes_given_back() -> None:
    direct = Direct()
    front = BufferedFront(echo, threads=1, body_seconds=5, direct=direct)
    scope = Scope("/cfg.xml", "GET", [("content-length", "3")], query_string="")
    proto = run(front, scope, Proto([b"abc"]))
    assert proto.answer is not None
    assert proto.answer[2] == b"GET /cfg.xml  192.0.2.7 http None None"
    assert front.budget.used == 0


def test_a_direct_answer_that_fails_is_a_plain_500() -> None:
    front = BufferedFront(echo, threads=1, body_seconds=5, direct=Direct())
    assert answered(front, Scope("/cfg-broken", "GET")) == (
        500, [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n"
    )  # fmt: skip


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "\u00b9", "\u0661"])
def test_a_content_length_that_is_not_ascii_digits_gets_400(length: str) -> None:
    front = BufferedFront(echo, threads=1, body_seconds=5)
    proto = run(front, Scope("/api/v1/imports", header_pairs=[("content-length", length)]),
                Proto([b"x"]))  # fmt: skip
    assert proto.answer is not None
    assert proto.answer[0] == 400
