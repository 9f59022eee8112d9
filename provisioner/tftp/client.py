"""A minimal TFTP RRQ client (lock-step, or windowed when the OACK says so), for load tests
and the benchmark: many transfers at once on one asyncio loop, each bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from provisioner.tftp.packets import (
    Data,
    Error,
    OAck,
    Opcode,
    decode,
    encode_ack,
    encode_request,
)

Address = tuple[Any, ...]


class TransferFailed(Exception):
    """A raw fetch got an ERROR packet or ran out of retries."""


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.queue.put_nowait((data, addr))


async def fetch(server: Address, name: str, options: Mapping[str, object] | None = None) -> bytes:
    """A minimal RRQ client (lock-step, or windowed if the OACK says so) for load tests."""
    loop = asyncio.get_running_loop()
    inbox = _Inbox()
    transport, _ = await loop.create_datagram_endpoint(lambda: inbox, local_addr=(server[0], 0))
    try:
        return await _receive(transport, inbox.queue, server, name, options or {})
    finally:
        transport.close()


async def _receive(
    transport: asyncio.DatagramTransport,
    queue: asyncio.Queue[tuple[bytes, Address]],
    server: Address,
    name: str,
    options: Mapping[str, object],
) -> bytes:
    pending = (encode_request(Opcode.RRQ, name, "octet", options), server)
    transport.sendto(*pending)
    peer: Address | None = None
    blksize, window, expected, in_window, misses = 512, 1, 1, 0, 0
    out = bytearray()
    while True:
        try:
            data, addr = await asyncio.wait_for(queue.get(), 0.5)
        except TimeoutError:
            misses += 1
            if misses > 8:
                raise TransferFailed(f"{name}: timeout") from None
            transport.sendto(*pending)
            continue
        peer = peer or addr  # the first answer fixes the server's transfer ID
        if addr != peer:
            continue
        packet = decode(data)
        if isinstance(packet, Error):
            raise TransferFailed(f"{name}: ERROR {packet.code} {packet.message}")
        if isinstance(packet, OAck):
            blksize = int(packet.options.get("blksize", 512))
            window = int(packet.options.get("windowsize", 1))
            pending = (encode_ack(0), peer)
            transport.sendto(*pending)
        elif isinstance(packet, Data) and packet.block == expected & 0xFFFF:
            out += packet.payload
            misses, in_window = 0, in_window + 1
            last = len(packet.payload) < blksize
            if last or in_window == window:
                pending, in_window = (encode_ack(expected), peer), 0
                transport.sendto(*pending)
            if last:
                return bytes(out)
            expected += 1


def fetch_sync(server: Address, name: str, options: Mapping[str, object] | None = None) -> bytes:
    return asyncio.run(asyncio.wait_for(fetch(server, name, options), 10))
