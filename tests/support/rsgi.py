"""A fake of granian's RSGI scope and HTTP protocol, for unit tests of the front door."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from provisioner.web.front import BufferedFront


class Headers:
    """Request headers as granian hands them: lower-case names, one entry per header line."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.pairs if k == key), default)

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _ in self.pairs)

    def items(self) -> list[tuple[str, str]]:
        return self.pairs


@dataclass
class Scope:
    path: str  # percent-decoded, as granian hands it
    method: str = "POST"
    header_pairs: list[tuple[str, str]] = field(default_factory=list)
    proto: str = "http"
    http_version: str = "1.1"
    client: str = "192.0.2.7:40000"
    server: str = "127.0.0.1:8080"
    scheme: str = "http"
    query_string: str = "a=1"

    @property
    def headers(self) -> Headers:
        return Headers(self.header_pairs)


class Proto:
    """Hands out ``chunks`` with ``pause`` seconds before each; records the answer."""

    def __init__(self, chunks: list[bytes], pause: float = 0.0) -> None:
        self.chunks, self.pause = chunks, pause
        self.answer: tuple[int, list[tuple[str, str]], bytes] | None = None
        self.streamed: list[bytes] = []

    async def _chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(self.pause)
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answer = (status, headers, body)

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Proto:
        self.answer = (status, headers, b"")
        return self

    async def send_bytes(self, data: bytes) -> None:
        self.streamed.append(data)

    def response_file_range(
        self, status: int, headers: list[tuple[str, str]], path: str, start: int, end: int
    ) -> None:
        self.answer = (status, headers, f"{path} {start}-{end}".encode())


def run(front: BufferedFront, scope: Scope, proto: Proto) -> Proto:
    """``proto`` after the front answered ``scope`` on it."""
    asyncio.run(front.__rsgi__(scope, proto))  # type: ignore[arg-type]
    return proto


def answered(front: BufferedFront, scope: Scope) -> tuple[int, list[tuple[str, str]], bytes]:
    """The front's answer to a request without a body (a streamed body joined)."""
    proto = run(front, scope, Proto([]))
    assert proto.answer is not None
    status, headers, body = proto.answer
    return status, headers, body + b"".join(proto.streamed)
