"""Bounded waits: every test that waits for something says for how long, and fails past that."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.01) -> bool:
    """Whether ``predicate`` came true within ``timeout`` seconds, polled every ``interval``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def tcp_port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections there (a listener that is up)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def url_answers(url: str) -> bool:
    """Whether a GET of ``url`` succeeds (a 2xx or 3xx answer)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback test servers
            return True
    except OSError:
        return False


def file_contains(path: Path, text: str) -> bool:
    """Whether a log or state file has come to hold ``text`` (a missing file does not)."""
    return path.exists() and text in path.read_text(errors="replace")
