"""Config delivery: from "this file name was asked for" to the bytes to send, or a refusal.

The pipeline every front door runs (HTTP, TFTP, the CLI's ``render``): is the source locked
out -> which vendor file is it -> does the User-Agent agree -> who may have it -> render (or
take it from the cache) -> record on the device's timeline.

Who may have a device's own file (it carries SIP passwords):
- a request from a staging network (the warehouse bench) gets it, with the device's
  provisioning credentials in it;
- elsewhere, over HTTP, a request that authenticates as the device (Digest, or Basic over
  HTTPS), or the first request of a ``shipped`` device from one of its tenant's allowed
  networks (which moves it to ``installed``), gets it without the credentials;
- everything else is challenged exactly like an unknown MAC (no oracle), and TFTP, which
  carries no credentials, serves only files without secrets outside the staging networks.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from provisioner import metrics
from provisioner.db.models import DeviceState
from provisioner.db.session import Database
from provisioner.domain.delivery.digest import DigestResponse, DigestVerdict, NonceMint, verify
from provisioner.domain.delivery.lockouts import LockoutBoard
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter
from provisioner.domain.delivery.render_cache import RenderCache, RenderedFile
from provisioner.domain.firmware.director import FirmwareDirector
from provisioner.domain.inventory import lifecycle
from provisioner.domain.inventory.lookup import (
    FoundDevice,
    find_device,
    load_device,
    provisioning_context,
)
from provisioner.domain.timeline import Event, TimelineWriter
from provisioner.rendering import render_plan
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import match_file, parse_user_agent, vendor
from provisioner.vendors.base import (
    FileKind,
    FileRequest,
    FirmwareOffer,
    ProvisioningContext,
    RenderError,
)

log = logging.getLogger(__name__)
security_log = logging.getLogger("provisioner.security")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Outcome(enum.Enum):
    SERVED = 200
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    LOCKED = 429
    FAILED = 500


@dataclass(frozen=True)
class Fetch:
    """What a device asked for, what it said about itself, and what it proved."""

    path: str  # as requested; only the last segment names the file
    protocol: str  # "http", "https", "tftp", "cli"
    source: str  # client IP address
    user_agent: str | None = None
    method: str = "GET"
    digest: DigestResponse | None = None
    basic: tuple[str, str] | None = None  # (user, password); honoured over HTTPS only

    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    body: bytes = b""
    content_type: str = "text/plain"
    reason: str = ""
    challenge: str | None = None  # WWW-Authenticate value for UNAUTHORIZED


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            log.error("ignoring bad network %r", cidr)
    return tuple(networks)


def in_networks(source: str, networks: Iterable[Network]) -> bool:
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def render_file(
    request: FileRequest,
    found: FoundDevice | None,
    box: SecretBox,
    context: ProvisioningContext,
    staging: bool,
    firmware: FirmwareOffer | None = None,
) -> RenderedFile | None:
    """The file in clear, as a request from a staging network (or not) gets it; None: 404.

    The one place that decides which variant a source gets: with the device's provisioning
    credentials on a staging network, without them elsewhere; with the firmware step its
    rollout names, if any.
    """
    view = found.view if found else None
    if view is not None and staging and found is not None:
        view = dataclasses.replace(view, credentials=found.access.credentials(box))
    if view is not None and firmware is not None:
        view = dataclasses.replace(view, firmware=firmware)
    plan = vendor(request.vendor).plan(request, view, context)
    if plan is None:
        return None
    body = render_plan(plan)
    return RenderedFile(body, plan.content_type, hashlib.sha256(body).hexdigest())


def client_address(peer: str, forwarded_for: str | None, proxies: Iterable[Network]) -> str:
    """The device's address: the peer, or, when the peer is a trusted load balancer, the
    nearest X-Forwarded-For hop that is not one of ours (hops further left are the client's
    own claims and prove nothing)."""
    proxies = tuple(proxies)
    if not forwarded_for or not in_networks(peer, proxies):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain proves nothing: trust none of it
        if not in_networks(hop, proxies):
            return hop
    return peer


class Provisioner:
    """The delivery service one process shares between its front doors."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        timeline: TimelineWriter | None,
        nonce_key: bytes,
    ) -> None:
        self.db = db
        self.box = box
        self.settings = settings
        self.context = provisioning_context(settings)
        self.timeline = timeline
        self.cache: RenderCache[RenderedFile] = RenderCache(db.revision)
        self.devices: RenderCache[FoundDevice] = RenderCache(db.revision)
        self.firmware = FirmwareDirector(db, timeline)
        self.staging = parse_networks(settings.staging_networks)
        self.proxies = parse_networks(settings.trusted_proxies)
        self.mint = NonceMint(nonce_key)
        self.lockouts = LockoutBoard(db)
        self.limiter = SourceLimiter(
            capacity=settings.rate_capacity,
            refill_per_second=settings.rate_refill,
            lockout_seconds=settings.lockout_seconds,
        )

    def deliver(self, fetch: Fetch) -> Delivery:
        delivery = self._deliver(fetch)
        metrics.count_fetch(fetch.protocol, delivery.outcome.name.lower())
        return delivery

    def _deliver(self, fetch: Fetch) -> Delivery:
        # The CLI's render is an operator on the server itself: it sees what the bench sees.
        staging = fetch.protocol == "cli" or in_networks(fetch.source, self.staging)
        if not staging and (
            self.limiter.locked(fetch.source) or self.lockouts.locked(fetch.source)
        ):
            metrics.count_refusal(fetch.protocol, "locked_out")
            return Delivery(Outcome.LOCKED, reason="locked out")
        request = match_file(fetch.filename)
        if request is None:
            return self._refuse(
                fetch, Outcome.NOT_FOUND, "no such file name", Cost.UNKNOWN_NAME, "unknown_file"
            )
        agent = parse_user_agent(fetch.user_agent) if fetch.user_agent else None
        if request.mac and agent and agent.mac and agent.mac != request.mac:
            reason = f"User-Agent MAC {agent.mac} asked for the file of {request.mac}"
            return self._refuse(
                fetch,
                Outcome.FORBIDDEN,
                reason,
                Cost.BAD_CREDENTIALS,
                "user_agent_mismatch",
                record_on=request.mac,
            )
        found = self._device(request)
        if request.kind is FileKind.DEVICE:
            verdict = self._admit(fetch, request, found, staging)
            if isinstance(verdict, Delivery):
                return verdict
        firmware = agent.firmware if agent else None
        outcome = self._rendered(fetch, request, found, staging, firmware)
        if isinstance(outcome, Delivery):
            return outcome
        mac = request.mac or (agent.mac if agent else None)
        if mac:
            self._record(
                fetch, mac, "fetch", Outcome.SERVED, firmware=firmware, sha256=outcome.sha256
            )
        return Delivery(Outcome.SERVED, outcome.body, outcome.content_type)

    def _admit(
        self, fetch: Fetch, request: FileRequest, found: FoundDevice | None, staging: bool
    ) -> Delivery | None:
        """None when the device's own file may go to this request, else the refusal."""
        if staging:
            if found is None:
                return self._refuse(
                    fetch, Outcome.NOT_FOUND, "unknown device", Cost.ROUTINE, "unknown_device"
                )
            return None
        if fetch.protocol == "tftp":
            return self._refuse(
                fetch, Outcome.NOT_FOUND, "not on a staging network", Cost.ROUTINE, "wrong_network"
            )
        return self._challenge(fetch, found, first_contact=True)

    def authenticate_device(self, fetch: Fetch, mac: str, vendor_name: str) -> Delivery | None:
        """For device endpoints outside the file pipeline (a gateway's config and CDRs):
        None when the request proves it is the device, from any network, else the refusal
        (401 with a challenge, exactly as for an unknown MAC; 429 when locked out)."""
        if self.limiter.locked(fetch.source) or self.lockouts.locked(fetch.source):
            metrics.count_refusal(fetch.protocol, "locked_out")
            return Delivery(Outcome.LOCKED, reason="locked out")
        found = self._device(FileRequest(vendor_name, FileKind.DEVICE, fetch.filename, mac=mac))
        return self._challenge(fetch, found, first_contact=False)

    def record_fetch(self, fetch: Fetch, mac: str, sha256: str) -> None:
        """A served device endpoint, on the device's timeline like a file fetch."""
        self._record(fetch, mac, "fetch", Outcome.SERVED, sha256=sha256)

    def _challenge(
        self, fetch: Fetch, found: FoundDevice | None, first_contact: bool
    ) -> Delivery | None:
        """None when the request authenticates as the device (or installs it), else a 401."""
        verdict = self._authenticate(fetch, found)
        if verdict == DigestVerdict.OK:
            self.limiter.refund(fetch.source)
            return None
        if (
            first_contact
            and verdict is None
            and found is not None
            and self._first_contact(fetch, found)
        ):
            return None
        cost = (
            Cost.BAD_CREDENTIALS
            if verdict in (DigestVerdict.BAD, DigestVerdict.REPLAY)
            else Cost.ROUTINE
        )
        reason = {None: "no credentials", DigestVerdict.STALE: "stale nonce"}.get(
            verdict, f"credentials {verdict}"
        )
        level = logging.INFO if verdict in (None, DigestVerdict.STALE) else logging.WARNING
        label = "bad_credentials" if cost is Cost.BAD_CREDENTIALS else "no_credentials"
        refusal = self._refuse(fetch, Outcome.UNAUTHORIZED, reason, cost, label, level=level)
        return dataclasses.replace(
            refusal, challenge=self.mint.challenge(stale=verdict == DigestVerdict.STALE)
        )

    def _authenticate(self, fetch: Fetch, found: FoundDevice | None) -> str | None:
        """A DigestVerdict, or None when the request presented no usable credentials."""
        user, password = ("\0", "\0")  # an unknown device compares against a dummy
        if found is not None and (creds := found.access.credentials(self.box)) is not None:
            user, password = creds.http_user, creds.http_password
        if fetch.digest is not None:
            with self.db.session() as session:
                return verify(session, self.mint, fetch.digest, user, password, fetch.method)
        if fetch.basic is not None and fetch.protocol == "https":
            given_user, given_password = fetch.basic
            return (
                DigestVerdict.OK
                if _equal(given_user, user) & _equal(given_password, password)
                else DigestVerdict.BAD
            )
        return None

    def _first_contact(self, fetch: Fetch, found: FoundDevice) -> bool:
        """A shipped device's first fetch from its customer's network installs it."""
        if found.access.state is not DeviceState.SHIPPED:
            return False
        if not in_networks(fetch.source, parse_networks(found.access.allowed_networks)):
            return False
        with self.db.session() as session:
            device = load_device(session, found.view.mac)
            if device is None or device.state is not DeviceState.SHIPPED:
                return False
            lifecycle.apply(
                session, self.box, device, lifecycle.Action.INSTALL,
                actor=f"first fetch from {fetch.source}",
            )  # fmt: skip
        security_log.info("device %s installed: first fetch from %s", found.view.mac, fetch.source)
        return True

    def _rendered(
        self,
        fetch: Fetch,
        request: FileRequest,
        found: FoundDevice | None,
        staging: bool,
        reported: str | None,
    ) -> RenderedFile | Delivery:
        """The file (cached per variant), or the refusal that replaces it.

        The firmware step is part of the variant: it follows the version this fetch reports
        and the clock (a wave opens after its pause) without a revision bump."""
        offer = None
        if found is not None and request.kind is FileKind.DEVICE:
            offer = self.firmware.offer(found, reported)
        key = (request.vendor, request.kind, request.mac, request.model, staging, offer)
        rendered = self.cache.get(key)
        if rendered is not None:
            return rendered
        revision = self.cache.revision
        try:
            started = time.perf_counter()
            plain = render_file(request, found, self.box, self.context, staging, offer)
            metrics.observe_render(time.perf_counter() - started)
        except RenderError as exc:
            log.error("cannot render %s: %s", fetch.filename, exc)
            return Delivery(Outcome.FAILED, reason=str(exc))
        if plain is None:
            # Devices walk a fallback chain (cfg<mac>, cfg<mac>.xml, cfg<model>.xml,
            # cfg.xml): a 404 here is routine, not a security event.
            reason = f"{request.kind} file not served"
            return self._refuse(
                fetch, Outcome.NOT_FOUND, reason, Cost.ROUTINE, "not_served", level=logging.INFO
            )
        rendered = plain
        if not staging and found is not None and found.access.encrypt_config:
            sealed = self._seal(request, found, plain.body)
            if sealed is not None:
                # The hash still names the configuration, not its encryption (a random salt
                # each time), so the timeline tells whether the device got the file it was told.
                rendered = RenderedFile(sealed, "application/octet-stream", plain.sha256)
        self.cache.put(key, rendered, revision)
        return rendered

    def _seal(self, request: FileRequest, found: FoundDevice, body: bytes) -> bytes | None:
        """Encrypted under the key the device got on the bench, where its vendor can."""
        credentials = found.access.credentials(self.box)
        if credentials is None:
            return None
        return vendor(request.vendor).seal(body, credentials.config_key)

    def _device(self, request: FileRequest) -> FoundDevice | None:
        """The device behind a per-device name; cached like files (unknown MACs are not)."""
        if request.mac is None:
            return None
        key = (request.vendor, request.mac)
        found = self.devices.get(key)
        if found is None:
            revision = self.devices.revision
            with self.db.engine.connect() as connection:
                found = find_device(connection, self.box, request.mac, request.vendor)
            if found is not None:
                self.devices.put(key, found, revision)
        return found

    def _record(
        self, fetch: Fetch, mac: str, kind: str, outcome: Outcome, **details: str | None
    ) -> None:
        """Put the fetch on the device's timeline (written in batches, off this thread)."""
        if self.timeline is None:
            return
        self.timeline.record(
            Event(
                mac=mac,
                kind=kind,
                protocol=fetch.protocol,
                filename=fetch.filename,
                source=fetch.source,
                user_agent=fetch.user_agent,
                status=outcome.value,
                **details,
            )
        )

    def _refuse(
        self,
        fetch: Fetch,
        outcome: Outcome,
        reason: str,
        cost: Cost,
        label: str,  # the reason as a metric label (a fixed set)
        record_on: str | None = None,
        level: int = logging.WARNING,
    ) -> Delivery:
        metrics.count_refusal(fetch.protocol, label)
        security_log.log(
            level,
            "refused %s %s from %s (%s): %s",
            fetch.protocol,
            fetch.filename[:80],
            fetch.source,
            outcome.value,
            reason,
        )
        if not in_networks(fetch.source, self.staging) and self.limiter.charge(fetch.source, cost):
            security_log.warning("locked out %s for %d s", fetch.source, self.limiter.lockout)
            metrics.count_lockout(fetch.protocol)
            self.lockouts.publish(fetch.source, self.limiter.lockout)
        if record_on:
            self._record(fetch, record_on, "refused", outcome, detail=reason)
        return Delivery(outcome, reason=reason)


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
