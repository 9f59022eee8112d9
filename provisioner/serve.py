"""``provisioner serve``: the HTTP and TFTP front doors in one process, one renderer."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from provisioner.domain.delivery import Fetch, Outcome, Provisioner
from provisioner.service import Service
from provisioner.tftp.server import TftpAccessDenied, serve_in_thread

log = logging.getLogger(__name__)


def split_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def tftp_resolver(provisioner: Provisioner) -> Callable[[str, str], bytes | None]:
    """TFTP has no User-Agent and no status codes: map the delivery onto its errors."""

    def resolve(filename: str, client_ip: str) -> bytes | None:
        delivery = provisioner.deliver(Fetch(path=filename, protocol="tftp", source=client_ip))
        if delivery.outcome is Outcome.SERVED:
            return delivery.body
        if delivery.outcome is Outcome.FORBIDDEN:
            raise TftpAccessDenied("access violation")
        if delivery.outcome is Outcome.FAILED:
            raise RuntimeError(delivery.reason)
        return None

    return resolve


def serve(
    service: Service,
    http: tuple[str, int] | None,
    tftp: tuple[str, int] | None,
    ready: Callable[[], None] = lambda: None,
) -> None:
    """Run until SIGINT or SIGTERM; the timeline is flushed on the way out.

    TFTP runs in this process; HTTP runs in granian worker processes (one per core) that
    build their own service from the same settings, so a boot storm can use every core.
    """
    service.timeline.start()
    tftp_thread = None
    try:
        if tftp is not None:
            tftp_thread = serve_in_thread(tftp_resolver(service.provisioner), *tftp)
        if http is None:
            ready()
            _wait_for_signal()
        else:
            _check_free(http)
            log.info("HTTP on %s:%d, %d workers", *http, service.settings.http_workers)
            ready()
            _http_server(service, http).serve()
    finally:
        if tftp_thread is not None:
            tftp_thread.stop()
        service.close()


def _check_free(address: tuple[str, int]) -> None:
    """Refuse to start when another server holds the port (granian would only log it)."""
    with socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET) as probe:
        probe.bind(address)


def _http_server(service: Service, http: tuple[str, int]) -> Granian:
    # Workers start from a clean interpreter: a fork would copy the TFTP thread's locks.
    multiprocessing.set_start_method("spawn", force=True)
    os.environ["PROVISIONER_DB"] = service.settings.db
    return Granian(
        "provisioner.web.wsgi:app_from_environment",
        factory=True,
        address=http[0],
        port=http[1],
        interface=Interfaces.WSGI,
        workers=service.settings.http_workers,
        blocking_threads=service.settings.http_threads,
        backlog=4096,
        log_access=False,
        log_level=LogLevels.warning,
    )


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    log.info("stopping")
