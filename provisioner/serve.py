"""``provisioner serve``: the HTTP and TFTP front doors in one process, one renderer."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

from waitress import create_server

from provisioner.domain.delivery import Fetch, Outcome, Provisioner
from provisioner.service import Service
from provisioner.tftp.server import TftpAccessDenied, serve_in_thread
from provisioner.web import create_app

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
    """Run until SIGINT or SIGTERM; the timeline is flushed on the way out."""
    service.timeline.start()
    tftp_thread = None
    http_server = None
    try:
        if tftp is not None:
            tftp_thread = serve_in_thread(tftp_resolver(service.provisioner), *tftp)
            log.info("TFTP on %s:%d", *tftp_thread.address)
        if http is not None:
            app = create_app(service.provisioner)
            http_server = create_server(
                app,
                host=http[0],
                port=http[1],
                threads=service.settings.http_threads,
                connection_limit=2000,
                backlog=2048,
                ident="provisioner",
            )
            log.info("HTTP on %s:%d", *http)
        ready()
        _wait_for_stop(http_server)
    finally:
        if http_server is not None:
            http_server.close()
        if tftp_thread is not None:
            tftp_thread.stop()
        service.close()


def _wait_for_stop(http_server: object | None) -> None:
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    try:
        if http_server is not None:
            http_server.run()  # type: ignore[attr-defined]
        else:
            signal.pause()
    except KeyboardInterrupt:
        log.info("stopping")
