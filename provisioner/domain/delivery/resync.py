"""Resync: ask a device, by SIP NOTIFY, to fetch its file now, and tell whether it did.

Without it a changed file reaches a device at its daily check. The NOTIFY goes to where the
device is (its registered contact; until the PBX core shares its registrations, the address
of its newest fetch, and only fetches that proved who fetched are recorded) and is
authenticated with the SIP credentials of its line 1, because
the devices are configured to challenge it. Each attempt is a ``notify`` event on the
device's timeline carrying the SHA-256 of the file the device should now fetch, so that a
later ``fetch`` event shows whether it applied that very file.

Sending SIP is not the domain's business: the caller passes a :data:`Notifier`
(``provisioner.sip.notify.send_notify``). The SIP exchange is bounded by ``timeout`` and
the rest is a few queries and one render, so an API request can call :func:`resync_device`
directly (a ``--to`` host name adds its DNS lookup).
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.db.session import Database
from provisioner.domain.delivery.networks import in_networks, parse_networks
from provisioner.domain.delivery.rendering import render_file
from provisioner.domain.delivery.served import Served, last_served
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.firmware.director import FirmwareDirector
from provisioner.domain.inventory.lookup import FoundDevice, find_device, provisioning_context
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import vendor
from provisioner.vendors.base import FileKind, FileRequest, RenderError

log = logging.getLogger(__name__)
SIP_PORT = 5060
DEFAULT_TIMEOUT = 32.0  # RFC 3261 timer F (64 x T1); an API request passes less


@dataclass(frozen=True)
class Target:
    host: str
    port: int = SIP_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_target(text: str) -> Target:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; :class:`Invalid` says what is wrong."""
    text = text.strip()
    host, port = text, str(SIP_PORT)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise Invalid(f"{text!r} is not HOST:PORT")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Invalid(f"{text!r} is not HOST:PORT (e.g. 192.0.2.10:5060)")
    return Target(host, int(port))


@dataclass(frozen=True)
class NotifyRequest:
    """One resync NOTIFY to send, and the credentials to answer the device's challenge."""

    target: Target
    user: str  # line 1's SIP username: Request-URI user and Digest username
    password: str
    event: str  # the Event header value, e.g. "check-sync" or "check-sync;reboot=true"
    pbx_core: str  # host[:port] the NOTIFY comes from (From header)
    timeout: float  # seconds for the whole exchange, challenge included


@dataclass(frozen=True)
class NotifyAnswer:
    status: int | None  # the final SIP status; None when no final answer came
    reason: str  # reason phrase, or why there was no answer
    challenged: bool = False  # the device challenged and we answered with credentials

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        text = f"{self.status} {self.reason}".strip() if self.status else self.reason
        return text + (" (after a Digest challenge)" if self.challenged else "")


Notifier = Callable[[NotifyRequest], NotifyAnswer]


class Parts(Protocol):
    """What a resync needs of the service: a ``Service`` and a ``Provisioner`` both are."""

    db: Database
    box: SecretBox
    settings: Settings


@dataclass(frozen=True)
class ResyncResult:
    mac: str
    target: Target
    event: str
    filename: str
    sha256: str  # the file the device should fetch now
    answer: NotifyAnswer


def resync_device(
    parts: Parts,
    mac: str,
    notifier: Notifier,
    *,
    target: Target | None = None,
    reboot: bool = False,
    actor: str,
    timeout: float = DEFAULT_TIMEOUT,
    any_target: bool = False,
) -> ResyncResult:
    """Send the vendor's resync NOTIFY to the device and put the attempt on its timeline.

    Refuses (:class:`NotFound`, :class:`Conflict`) before sending anything when the device
    is unknown, has no line to authenticate with, has no known address and no ``target``
    was given, or its file cannot be rendered. The NOTIFY is answered with a Digest over
    line 1's SIP password, so whoever receives it can try that password offline: a
    ``target`` must be an address the device proved itself from (:func:`proven_hosts`),
    unless ``any_target`` (the operator's own shell on the server). A device that does not
    answer 2xx is not an error here: the answer is in the result and on the timeline.
    """
    with parts.db.engine.connect() as connection:
        row = connection.execute(select(Device.id, Device.vendor).where(Device.mac == mac)).first()
        found = find_device(connection, parts.box, mac, row.vendor) if row else None
    if row is None or found is None:
        raise NotFound(f"no device {mac} in the inventory (or it is retired)")
    if not found.view.lines:
        raise Conflict(f"device {mac} has no line: no SIP credentials to answer its challenge")
    module = vendor(found.view.model.vendor)
    device_id = row.id
    if target is not None and not any_target:
        with parts.db.session() as session:
            hosts = proven_hosts(session, device_id, mac)
        if _address(target.host) not in hosts:
            raise Conflict(
                f"{target.host} is not an address device {mac} fetched its file from with "
                "proof: a NOTIFY carries an answer computed from its SIP password, so it goes "
                "only there"
            )
    if target is None:
        with parts.db.session() as session:
            target = registered_contact(session, device_id, parts.settings.device_sip_port)
    if target is None:
        raise Conflict(
            f"device {mac} has no known address (it never fetched a file): "
            "pass its SIP contact with --to HOST:PORT"
        )
    filename = module.device_filename(mac, found.view.model)
    sha256 = expected_sha256(parts, found, filename, target.host)
    event = module.resync_event(reboot)
    line = found.view.lines[0]
    started = utcnow()
    answer = notifier(
        NotifyRequest(
            target, line.sip_username, line.sip_password, event, parts.settings.pbx_primary, timeout
        )
    )
    with parts.db.session() as session:
        session.add(
            DeviceEvent(
                device_id=device_id,
                at=started,
                kind=EventKind.NOTIFY,
                actor=actor,
                protocol="sip",
                filename=filename,
                status=answer.status,
                sha256=sha256,
                detail=f"NOTIFY to {target}, Event: {event}: {answer}",
            )
        )
    return ResyncResult(mac, target, event, filename, sha256, answer)


def registered_contact(session: Session, device_id: int, port: int = SIP_PORT) -> Target | None:
    """Where the device listens for SIP: the source of its newest fetch, on ``port``.

    There is no registrar in the product yet; when the PBX core shares its registrations,
    their contact replaces this guess.
    """
    sources = _fetch_sources(session, device_id)
    return Target(sources[0], port) if sources else None


def proven_hosts(session: Session, device_id: int, mac: str) -> set[str]:
    """The addresses the device fetched its file from with proof (its recent recorded
    fetches, which are proven ones only, and the last served file's source)."""
    hosts = set(_fetch_sources(session, device_id))
    served = last_served(session.connection(), mac)
    if served is not None and (host := _address(served.source)) is not None:
        hosts.add(host)
    return hosts


def _fetch_sources(session: Session, device_id: int) -> list[str]:
    """The addresses of the device's newest recorded fetches, newest first."""
    sources = session.scalars(
        select(DeviceEvent.source)
        .where(
            DeviceEvent.device_id == device_id,
            DeviceEvent.kind == EventKind.FETCH,
            DeviceEvent.source.is_not(None),
        )
        .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
        .limit(20)
    )
    # a source that is not an address (a CLI render) is passed over: look further back
    return [host for source in sources if source and (host := _address(source)) is not None]


def _address(text: str) -> str | None:
    """An address in one spelling (IPv4-mapped as IPv4); None for anything else."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def expected_sha256(parts: Parts, found: FoundDevice, filename: str, host: str) -> str:
    """The SHA-256 of the file the device gets when it fetches from ``host`` right now."""
    view = found.view
    request = FileRequest(view.model.vendor, FileKind.DEVICE, filename, mac=view.mac)
    staging = in_networks(host, parse_networks(parts.settings.staging_networks))
    context = provisioning_context(parts.settings)
    try:
        offer = FirmwareDirector(parts.db, None).offer(found.record, None)
        rendered = render_file(request, found, parts.box, context, staging, offer)
    except RenderError as exc:
        raise Conflict(f"cannot render {filename} for device {view.mac}: {exc}") from exc
    if rendered is None:
        raise Conflict(f"{filename} is not served for device {view.mac}")
    return rendered.sha256


class Applied(enum.StrEnum):
    APPLIED = "applied"  # a later fetch got the very file
    DIFFERENT = "different"  # fetched since, but another file (changed again? other variant?)
    PENDING = "pending"  # no fetch of its file since


@dataclass(frozen=True)
class ResyncStatus:
    state: Applied
    fetch: DeviceEvent | None  # the fetch that applied it, else the newest later fetch

    def __str__(self) -> str:
        if self.fetch is None:
            return "not fetched yet"
        when = _time(self.fetch.at)
        if self.state is Applied.APPLIED:
            return f"applied (fetched at {when} from {self.fetch.source or '?'})"
        digest = (self.fetch.sha256 or "?")[:12]
        return f"fetched a different file at {when} (sha256 {digest}...)"


def resync_status(session: Session, notify: DeviceEvent) -> ResyncStatus:
    """Whether the device fetched its own file after this ``notify`` event, and which one."""
    later = select(DeviceEvent).where(
        DeviceEvent.device_id == notify.device_id,
        DeviceEvent.kind == EventKind.FETCH,
        DeviceEvent.at > notify.at,
        func.lower(DeviceEvent.filename) == (notify.filename or "").lower(),
    )
    applied = session.scalars(
        later.where(DeviceEvent.sha256 == notify.sha256).order_by(DeviceEvent.at).limit(1)
    ).first()
    if applied is not None:
        return ResyncStatus(Applied.APPLIED, applied)
    newest = session.scalars(later.order_by(DeviceEvent.at.desc()).limit(1)).first()
    return ResyncStatus(Applied.PENDING if newest is None else Applied.DIFFERENT, newest)


def latest_notify(session: Session, mac: str) -> DeviceEvent | None:
    return session.scalars(
        select(DeviceEvent)
        .join(Device, Device.id == DeviceEvent.device_id)
        .where(Device.mac == mac, DeviceEvent.kind == EventKind.NOTIFY)
        .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
        .limit(1)
    ).first()


def timeline_text(session: Session, event: DeviceEvent) -> str:
    """What ``device show`` prints for an event: a notify with whether it was applied."""
    if event.kind == EventKind.NOTIFY:
        return f"{event.detail}; {resync_status(session, event)}"
    return event.filename or event.detail or ""


def _time(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def resync_if_changed(
    parts: Parts, device_id: int, notifier: Notifier, *, actor: str, timeout: float
) -> ResyncResult | None:
    """Resync a device whose file now differs from the one it was last served; else nothing.

    What it was last served is the newer of the served-file row (written as the file is
    served) and the newest recorded fetch of that file: a fetch still in a timeline writer's
    queue is in the first, one recorded after another worker's serving in the second. Fetches
    of other names (its phonebook, searched on every look-up on Panasonic) say nothing about
    the file. A device that never fetched has no known address and nothing to refresh: skipped.
    """
    with parts.db.session() as session:
        device = session.execute(
            select(Device.mac, Device.vendor).where(Device.id == device_id)
        ).one()
    with parts.db.engine.connect() as connection:
        found = find_device(connection, parts.box, device.mac, device.vendor)
    if found is None or not found.view.lines:
        return None
    filename = vendor(device.vendor).device_filename(device.mac, found.view.model)
    with parts.db.session() as session:
        recorded = session.execute(
            select(DeviceEvent.source, DeviceEvent.sha256, DeviceEvent.at)
            .where(
                DeviceEvent.device_id == device_id,
                DeviceEvent.kind == EventKind.FETCH,
                func.lower(DeviceEvent.filename) == filename.lower(),
            )
            .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
            .limit(1)
        ).first()
        served = last_served(session.connection(), device.mac)
    last: Served | None = None
    if recorded is not None and recorded.source:  # no hash recorded: a different file
        last = Served(recorded.sha256 or "", recorded.source, recorded.at)
    if served is not None and (last is None or served.at >= last.at):
        last = served
    if last is None:
        return None
    try:
        if expected_sha256(parts, found, filename, last.source) == last.sha256:
            return None  # it already has this very file
        return resync_device(parts, device.mac, notifier, actor=actor, timeout=timeout)
    except (Conflict, NotFound) as exc:
        log.info("no automatic resync of %s: %s", device.mac, exc)
        return None


class ResyncQueue:
    """Resyncs after a change, off the request that made it (a NOTIFY can take seconds)."""

    def __init__(self, parts: Parts, notifier: Notifier, timeout: float = 10.0) -> None:
        self._parts = parts
        self._notifier = notifier
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="resync")
        self._pending: list[Future[ResyncResult | None]] = []

    def submit(self, device_ids: Iterable[int], actor: str) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        for device_id in sorted(device_ids):
            self._pending.append(
                self._pool.submit(self._one, device_id, f"automatic, after {actor}")
            )

    def wait(self, timeout: float = 60.0) -> list[ResyncResult]:
        """The results of everything submitted so far (tests; shutdown)."""
        done = [future.result(timeout=timeout) for future in self._pending]
        self._pending = []
        return [result for result in done if result is not None]

    def _one(self, device_id: int, actor: str) -> ResyncResult | None:
        try:
            return resync_if_changed(
                self._parts, device_id, self._notifier, actor=actor, timeout=self._timeout
            )
        except Exception:
            log.exception("automatic resync of device %d failed", device_id)
            return None
