"""Small helpers the benchmarks share."""

from __future__ import annotations

import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float = 60, context: ssl.SSLContext | None = None) -> None:
    """Until the URL answers at all (any status), or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1, context=context).close()  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {seconds} s")


def warm_up(storm: Callable[[], float], rounds: int = 10, tolerance: float = 0.1) -> list[float]:
    """Rounds of the storm (``storm()`` runs one and returns its rate) until a round is no
    more than ``tolerance`` faster than the one before: every worker has started and cached
    what the storm asks for, so what is measured next is the steady state, not the filling
    of caches. At most ``rounds``; returns each round's rate."""
    rates = [storm()]
    while len(rates) < rounds:
        rates.append(storm())
        if rates[-1] <= rates[-2] * (1 + tolerance):
            break
    return rates
