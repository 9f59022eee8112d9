"""``provisioner serve``: the HTTP(S) and TFTP front doors, one renderer behind them."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from granian import Granian
from granian.constants import Interfaces, SSLProtocols
from granian.log import LogLevels

from provisioner.app.maintenance import MaintenanceThread
from provisioner.app.scheduler import SchedulerThread
from provisioner.app.service import NONCE_STORE_ENV, Service
from provisioner.domain.delivery.digest import create_store
from provisioner.pbx.registrations_poller import RegistrationThread
from provisioner.tftp.front_door import tftp_resolver
from provisioner.tftp.server import serve_in_thread

log = logging.getLogger(__name__)


def split_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class HttpListener:
    host: str
    port: int
    cert: Path | None = None  # both set: HTTPS
    key: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"


def serve(
    service: Service,
    listeners: list[HttpListener],
    tftp: tuple[str, int] | None,
    ready: Callable[[], None] = lambda: None,
) -> None:
    """Run until SIGINT or SIGTERM (or a listener dies). The service stays open: whoever opened
    it closes it, which flushes the timeline.

    TFTP runs in this process. Each HTTP(S) listener runs granian in a child process with
    worker processes of its own (one per core) that build their own service from the same
    settings, so a boot storm can use every core. The PoE poller runs in a thread of this
    process: one poller per service, however many HTTP workers there are; so does the
    maintenance thread (timeline retention, fleet gauges), and the registration poller when PBX
    cores are configured (``PROVISIONER_PBX_READERS``).
    """
    for listener in listeners:
        _check_free((listener.host, listener.port))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    service.timeline.start()
    tftp_thread = None
    poe = None
    if service.settings.poe_poller:
        from provisioner.snmp.poller import PoeThread  # pysnmp only where it is used

        poe = PoeThread(service.db, service.box)
    maintenance = MaintenanceThread(service)
    scheduler = SchedulerThread(service)
    registrations = None
    if service.settings.pbx_readers:
        registrations = RegistrationThread(service.db, service.settings, service.timeline)
    children: list[multiprocessing.process.BaseProcess] = []
    try:
        maintenance.start()
        scheduler.start()
        if poe is not None:
            poe.start()
        if registrations is not None:
            registrations.start()
        if tftp is not None:
            tftp_thread = serve_in_thread(
                tftp_resolver(service.provisioner, service.catalog), *tftp
            )
        # Children start from a clean interpreter: a fork would copy the TFTP thread's locks.
        spawn = multiprocessing.get_context("spawn")
        os.environ["PROVISIONER_DB"] = service.settings.db
        os.environ[NONCE_STORE_ENV] = str(_nonce_store())
        for listener in listeners:
            child: multiprocessing.process.BaseProcess = spawn.Process(
                target=_run_http, args=(listener, service.settings.http_workers),
                name=f"{listener.scheme}-{listener.port}",
            )  # fmt: skip
            child.start()
            children.append(child)
        for listener, child in zip(listeners, children, strict=True):
            _wait_listening(listener, child)
            log.info("%s on %s:%d", listener.scheme.upper(), listener.host, listener.port)
        ready()
        while not stop.wait(0.5):
            if any(not child.is_alive() for child in children):
                log.error("an HTTP listener stopped; shutting down")
                break
        log.info("stopping")
    finally:
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)  # type: ignore[arg-type]
        for child in children:
            child.join(timeout=20)
        if tftp_thread is not None:
            tftp_thread.stop()
        if poe is not None:
            poe.stop()
        maintenance.stop()
        scheduler.stop()
        if registrations is not None:
            registrations.stop()


def _nonce_store() -> Path:
    """This instance's spent-nonce file, on tmpfs when there is one: shared by its workers
    and no other instance (docs/security.md, "Digest replay"); removed when ``serve`` exits."""
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private (0700) directory there
    directory = Path(
        tempfile.mkdtemp(prefix="provisioner-nonces-", dir=shm if shm.is_dir() else None)
    )
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "spent.table"
    create_store(path)
    return path


def _check_free(address: tuple[str, int]) -> None:
    """Refuse to start when another server holds the port (granian would only log it)."""
    with socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as granian binds
        probe.bind(address)


def _wait_listening(listener: HttpListener, child: multiprocessing.process.BaseProcess) -> None:
    """Until the listener accepts connections: "ready" must mean a device can fetch now."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.is_alive():
        try:
            socket.create_connection((listener.host, listener.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise OSError(f"{listener.scheme} listener on {listener.host}:{listener.port} did not start")


def _run_http(listener: HttpListener, workers: int) -> None:
    """One listener's granian master (a child process of ``serve``)."""
    Granian(
        "provisioner.web.wsgi:front_from_environment",
        factory=True,
        address=listener.host,
        port=listener.port,
        interface=Interfaces.RSGI,  # bodies read on the event loop (provisioner.web.front)
        workers=workers,
        backlog=4096,
        log_access=False,
        log_level=LogLevels.warning,
        ssl_cert=listener.cert,
        ssl_key=listener.key,
        ssl_protocol_min=SSLProtocols.tls12,  # phones of a few years ago stop at TLS 1.2
    ).serve()
