"""A non-INVITE client transaction over UDP (RFC 3261 §17.1.2), bounded by a deadline.

UDP loses datagrams, so the request is sent again on timer E (T1 = 500 ms, doubling up to
T2 = 4 s; every T2 once the device said it is working on it) until a final response, timer
F (64 x T1 = 32 s) or the caller's deadline, whichever comes first. A datagram that is not a
response to this very transaction (another branch, Call-ID or CSeq, or no SIP at all) is
ignored: anything on the network may write to our port.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from provisioner.sip.message import Response, parse_response

log = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
TIMER_F = 64 * T1
MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class TransactionKey:
    """What a response must echo to belong to the request (RFC 3261 §17.1.3)."""

    branch: str
    call_id: str
    cseq: int
    method: str

    def matches(self, response: Response) -> bool:
        return (
            response.branch == self.branch
            and response.first("call-id") == self.call_id
            and response.cseq == (self.cseq, self.method)
        )


class UdpEndpoint:
    """A UDP socket towards one peer, bound to the local address the route to it uses.

    The Via header must name an address the peer can answer to; a socket bound to the
    wildcard address cannot say which one that is.
    """

    def __init__(self, host: str, port: int) -> None:
        family, _, _, _, remote = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(remote)  # sends nothing: asks the kernel for the route
            local_ip = probe.getsockname()[0]
        self.remote = remote
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.bind((local_ip, 0))
        except OSError:
            self.sock.close()
            raise
        self.local: tuple[str, int] = (local_ip, self.sock.getsockname()[1])

    def __enter__(self) -> UdpEndpoint:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.sock.close()

    def transact(self, request: bytes, key: TransactionKey, deadline: float) -> Response | None:
        """The final response to ``request``, or None when none came before the deadline.

        ``deadline`` is a :func:`time.monotonic` value; timer F caps it.
        """
        now = time.monotonic()
        deadline = min(deadline, now + TIMER_F)
        interval, next_send = T1, now
        while now < deadline:
            if now >= next_send:
                self.sock.sendto(request, self.remote)
                next_send = now + interval
                interval = min(2 * interval, T2)
            self.sock.settimeout(max(min(next_send, deadline) - now, 0.001))
            try:
                data, sender = self.sock.recvfrom(MAX_DATAGRAM)
            except (TimeoutError, ConnectionRefusedError):  # refused: ICMP, peer not up yet
                now = time.monotonic()
                continue
            now = time.monotonic()
            response = parse_response(data)
            if response is None or not key.matches(response):
                log.debug("ignored a datagram from %s that is not our answer", sender)
                continue
            if response.status >= 200:
                return response
            interval = T2  # provisional: the peer has it; only keep it alive
        return None
