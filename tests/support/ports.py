"""Free loopback ports for the servers and peers a test starts."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM, host: str = LOOPBACK) -> int:
    """A port the kernel has just handed out, so no fixed number collides between test runs."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_udp_port(host: str = LOOPBACK) -> int:
    """SIP, SNMP and TFTP peers listen on UDP."""
    return free_port(socket.SOCK_DGRAM, host)
