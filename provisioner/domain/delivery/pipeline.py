"""Config delivery: from "this file name was asked for" to the bytes to send, or a refusal.

Every front door (HTTP, TFTP) hands a :class:`Fetch` to :meth:`Provisioner.deliver`, which
runs it through five stages, in this order:

1. admission: a locked-out source gets nothing but the chance to prove it is a device
   (:mod:`.admission`);
2. identification: the file name, the User-Agent and the device behind them;
3. authorization: who may have a device's own file, which carries SIP passwords: the bench
   (staging networks) with the device's provisioning credentials in it; elsewhere, over HTTP,
   the device itself or its first contact, without them (:mod:`.authorization`); TFTP, which
   carries no credentials, nothing with secrets outside the bench;
4. rendering: the variant for this source, from the render cache, sealed off the bench
   (:mod:`.rendering`);
5. recording: the fetch on the device's timeline when who fetched is proven, and the metrics.

A stage that says no raises a :class:`Refusal`; :meth:`Provisioner.deliver` settles it, once:
counted, logged, charged to the source, turned into the :class:`Delivery` the door maps onto
its protocol. :meth:`Provisioner.preview` renders what the bench would get, for a person.
"""

from __future__ import annotations

import functools
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from provisioner import metrics
from provisioner.db.models import utcnow
from provisioner.db.render_changes import current_revision
from provisioner.db.session import Database
from provisioner.domain.delivery import authorization
from provisioner.domain.delivery.admission import Admission
from provisioner.domain.delivery.digest import DigestVerdict, NonceMint, SpentNonces
from provisioner.domain.delivery.fetches import (
    Delivery,
    Fetch,
    IdentifiedFetch,
    Outcome,
    Refusal,
)
from provisioner.domain.delivery.known_macs import KnownMacs
from provisioner.domain.delivery.lockouts import LockoutBoard
from provisioner.domain.delivery.networks import (
    Network,
    client_address,
    in_networks,
    parse_networks,
)
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter
from provisioner.domain.delivery.render_cache import FileCache, RenderCache, RenderedFile, pack
from provisioner.domain.delivery.render_store import RenderStore
from provisioner.domain.delivery.rendering import render_file, sealed
from provisioner.domain.delivery.served import ServedFiles
from provisioner.domain.delivery.told_refusals import ToldRefusals
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.firmware.director import FirmwareDirector
from provisioner.domain.inventory.lookup import (
    DeviceRecord,
    find_device,
    find_record,
    find_records,
    load_device,
    provisioning_context,
)
from provisioner.domain.timeline import Event, EventKind, TimelineWriter
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import all_models, match_file, parse_user_agent, vendor
from provisioner.vendors.base import FileKind, FileRequest, FirmwareOffer, RenderError

# Importers of the pipeline's vocabulary and network helpers keep importing them from here.
__all__ = [
    "Delivery",
    "Fetch",
    "Network",
    "Outcome",
    "Provisioner",
    "Refusal",
    "client_address",
    "in_networks",
    "parse_networks",
]

log = logging.getLogger(__name__)
security_log = logging.getLogger("provisioner.security")


class Provisioner:
    """The delivery service one process shares between its front doors."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        timeline: TimelineWriter | None,
        nonce_key: bytes,
        spent: SpentNonces | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.settings = settings
        self.context = provisioning_context(settings)
        self.timeline = timeline
        self.cache = FileCache(
            db.render_changes, settings.file_cache_mib * 2**20, settings.packed_cache_mib * 2**20
        )
        self.store = RenderStore(db, box, self.context)  # what one worker rendered, for all of them
        self.devices: RenderCache[DeviceRecord] = RenderCache(db.render_changes)
        self.known = KnownMacs(db)  # an unknown MAC costs no query: its timing tells nothing
        self.firmware = FirmwareDirector(db, timeline)
        self.served = ServedFiles(db)  # what a resync decides from (issue 19)
        self.staging = parse_networks(settings.staging_networks)
        # Parsing the source address is a sixth of a cached fetch, and a boot storm brings
        # the same sources again and again: remember the answer (bounded, thread-safe).
        self._from_bench = functools.lru_cache(maxsize=65_536)(self._on_staging_network)
        self.proxies = parse_networks(settings.trusted_proxies)
        self.mint = NonceMint(nonce_key)
        # Each Digest answer is checked against its device's password: decrypted once per
        # device and worker, not per fetch (the cached files carry it in the clear anyway).
        self._password = functools.lru_cache(maxsize=65_536)(box.decrypt)
        self.spent = spent if spent is not None else SpentNonces()
        self.told = ToldRefusals()  # refusals on a device's timeline: deduplicated, capped
        self.admission = Admission(
            SourceLimiter(
                capacity=settings.rate_capacity,
                refill_per_second=settings.rate_refill,
                lockout_seconds=settings.lockout_seconds,
            ),
            LockoutBoard(db),
        )

    # --- entry points ----------------------------------------------------------------------

    def deliver(self, fetch: Fetch) -> Delivery:
        """Run the fetch through the stages; whichever stage refuses, the refusal is settled
        here and nowhere else."""
        # The CLI's fetch is an operator on the server itself: it sees what the bench sees.
        staging = fetch.protocol == "cli" or self._from_bench(fetch.source)
        try:
            locked = not staging and self.admission.locked(fetch)
            if locked:
                self._admit_proof_only(fetch)
            identified = self._authorize(self._identify(fetch, staging), locked)
            rendered = self._render(identified)
        except Refusal as refusal:
            delivery = self._settle(fetch, refusal, charge=not staging)
        else:
            delivery = self._record(identified, rendered)
        metrics.count_fetch(fetch.protocol, delivery.outcome.name.lower())
        return delivery

    def prime(self, limit: int) -> int:
        """Remember the devices of the ``limit`` most recent fetches (their rows and last
        served files: a few queries for all of them) before serving: after a restart, or in a
        new worker, the first storm then costs each of them no query but its stored render's.
        Returns how many were remembered."""
        macs = self.served.prime(limit)
        self.devices.get(None)  # follow the inventory first: what is read next is at least as new
        revision = self.devices.revision
        with self.db.engine.connect() as connection:
            records = find_records(connection, macs)
        for vendor_name, record in records:
            self.devices.put((vendor_name, record.mac), record, revision, subject=record.mac)
        return len(records)

    def authenticate_device(self, fetch: Fetch, mac: str, vendor_name: str) -> Delivery | None:
        """For device endpoints outside the file pipeline (a gateway's config and CDRs):
        None when the request proves it is the device, from any network, else the refusal
        (401 with a challenge, exactly as for an unknown MAC; 429 when locked out)."""
        try:
            locked = self.admission.locked(fetch)
            found = self._device(FileRequest(vendor_name, FileKind.DEVICE, fetch.filename, mac=mac))
            self._prove_device(fetch, found, first_contact=False, locked=locked)
        except Refusal as refusal:
            return self._settle(fetch, refusal, charge=not self._from_bench(fetch.source))
        return None

    def firmware_downloaded(
        self, filename: str, protocol: str, source: str, user_agent: str | None
    ) -> None:
        """A whole image download, for loop detection: attributed to the device its
        User-Agent names only when it comes from where that device proved itself (the bench,
        or the address of its last authenticated fetch). Anyone can claim a MAC; a claim from
        elsewhere must not hold a device or pause its rollout."""
        agent = parse_user_agent(user_agent) if user_agent else None
        if agent is None or agent.mac is None:
            return  # nothing names the device (TFTP, a browser): it cannot be followed
        if self._from_bench(source) or self.served.source(agent.mac) == source:
            self.firmware.downloaded(filename, protocol, source, user_agent)

    def record_fetch(self, fetch: Fetch, mac: str, sha256: str) -> None:
        """A served device endpoint, on the device's timeline like a file fetch."""
        self._timeline_event(fetch, mac, EventKind.FETCH, Outcome.SERVED, sha256=sha256)

    def preview(self, mac: str, filename: str | None = None) -> bytes:
        """The bytes a bench fetch of this device's file (its own config unless ``filename``
        names another of its files) gets now, for a person to read.

        Nothing of a real fetch happens: no timeline event, no metric, no rate-limit charge,
        and none of the caches the front doors share is read or filled, so a preview neither
        sees a stale file nor leaves one behind.
        """
        with self.db.session() as session:
            device = load_device(session, mac)
            if device is None:
                raise NotFound(f"no device {mac} in the inventory")
            vendor_name, model_name = device.vendor, device.model
        model = next((m for m in all_models() if m.model == model_name), None)
        if model is None:
            raise Invalid(f"{mac} is a {model_name}: it fetches its gateway config, not a file")
        name = filename or vendor(vendor_name).device_filename(mac, model)
        request = match_file(name)
        if request is None or request.vendor != vendor_name or request.mac not in (None, mac):
            raise Invalid(f"{name} is not a file device {mac} ({model_name}) fetches")
        found = None
        if request.mac is not None:
            with self.db.engine.connect() as connection:
                found = find_device(connection, self.box, mac, vendor_name)
        if request.kind is FileKind.DEVICE and found is None:
            raise NotFound(f"device {mac} is retired: it gets no file")
        record = found.record if found is not None else None
        offer = self._offer(FirmwareDirector(self.db, None), request, record, reported=None)
        try:
            rendered = render_file(request, found, self.box, self.context, True, offer)
        except RenderError as exc:
            raise Conflict(f"cannot render {name} for device {mac}: {exc}") from exc
        if rendered is None:
            raise NotFound(f"{name} is not served to device {mac}")
        return rendered.body

    # --- the stages --------------------------------------------------------------------------

    def _identify(self, fetch: Fetch, staging: bool) -> IdentifiedFetch:
        """Which vendor file is asked for, by which device, and is it in service.

        A name no device ever asks for is a scan, and costs the source accordingly; a device
        that asks for another device's file by name is refused and told on that device.
        """
        request = match_file(fetch.filename)
        if request is None:
            raise Refusal(
                Outcome.NOT_FOUND, "no such file name", label="unknown_file", cost=Cost.UNKNOWN_NAME
            )
        agent = parse_user_agent(fetch.user_agent) if fetch.user_agent else None
        if request.mac and agent and agent.mac and agent.mac != request.mac:
            raise Refusal(
                Outcome.FORBIDDEN,
                f"User-Agent MAC {agent.mac} asked for the file of {request.mac}",
                label="user_agent_mismatch",
                cost=Cost.BAD_CREDENTIALS,
                record_on=request.mac,
            )
        reported_firmware = agent.firmware if agent else None
        device_mac = request.mac or (agent.mac if agent else None)
        found = self._device(request)
        return IdentifiedFetch(
            fetch, staging, request, found, reported_firmware, device_mac, staging
        )

    def _admit_proof_only(self, fetch: Fetch) -> None:
        """What a locked-out source may still ask: a device's own file over HTTP with
        credentials (a correct answer proves the device and is served), and, without them,
        the challenge that starts a Digest exchange: the same for every name, given before
        any lookup, so it costs nothing and reveals nothing. Anything else is the 429."""
        request = match_file(fetch.filename) if fetch.protocol in ("http", "https") else None
        if request is None or request.kind is not FileKind.DEVICE:
            raise Refusal(Outcome.LOCKED, "locked out", label="locked_out")
        if fetch.digest is None and fetch.basic is None:
            raise authorization.challenge(None, self.mint)

    def _authorize(self, identified: IdentifiedFetch, locked: bool = False) -> IdentifiedFetch:
        """Only a device's own file carries secrets: the bench gets it for a device in
        service; TFTP, which proves nothing, gets it nowhere else; HTTP only as the device.
        A re-enrolment fetch gets the bench variant: the file with the new credentials.
        A locked-out source gets no first contact or re-enrolment: only its proof counts."""
        if identified.request.kind is not FileKind.DEVICE:
            return identified
        if identified.staging:
            if identified.found is None:
                raise Refusal(
                    Outcome.NOT_FOUND, "unknown device", label="unknown_device", cost=Cost.ROUTINE
                )
            return identified
        if identified.fetch.protocol == "tftp":
            raise Refusal(
                Outcome.NOT_FOUND,
                "not on a staging network",
                label="wrong_network",
                cost=Cost.ROUTINE,
            )
        fetch, found = identified.fetch, identified.found
        if (
            found is not None
            and not locked
            and fetch.digest is None
            and fetch.basic is None
            and authorization.re_enrol_on_contact(fetch, found, self.db)
        ):
            return identified._replace(staging=True, proven=True)
        self._prove_device(fetch, found, first_contact=not locked, locked=locked)
        return identified._replace(proven=True)

    def _render(self, identified: IdentifiedFetch) -> RenderedFile:
        """The file for this source's variant, rendered again only after its device changed.

        The firmware step is part of the variant: it follows the version this fetch reports
        and the clock (a wave opens after its pause) without a revision bump.
        """
        request, staging = identified.request, identified.staging
        offer = self._offer(self.firmware, request, identified.found, identified.reported_firmware)
        key = (request.vendor, request.kind, request.mac, request.model, staging, offer)
        rendered = self.cache.get(key)
        if rendered is not None:
            return rendered
        # Whatever is read from here on is at least as new as what this cache has seen, so
        # a file made of it may be kept under that revision.
        revision = self.cache.revision
        if request.mac is not None and (stored := self.store.get(key)) is not None:
            self.cache.put(key, stored[0], revision, subject=request.mac, packed=stored[1])
            return stored[0]
        with self.db.engine.connect() as connection:
            read_at = current_revision(connection)  # before the device: see render_store
            found = None
            if request.mac is not None:
                found = find_device(connection, self.box, request.mac, request.vendor)
        if request.mac is not None and found is None:  # retired since it was looked up
            raise Refusal(
                Outcome.NOT_FOUND, "unknown device", label="unknown_device", cost=Cost.ROUTINE
            )
        try:
            started = time.perf_counter()
            plain = render_file(request, found, self.box, self.context, staging, offer)
            metrics.observe_render(time.perf_counter() - started)
        except RenderError as exc:
            log.error("cannot render %s: %s", identified.fetch.filename, exc)
            raise Refusal(Outcome.FAILED, str(exc)) from exc
        if plain is None:
            # Devices walk a fallback chain (cfg<mac>, cfg<mac>.xml, cfg<model>.xml,
            # cfg.xml): a 404 here is routine, not a security event.
            raise Refusal(
                Outcome.NOT_FOUND,
                f"{request.kind} file not served",
                label="not_served",
                cost=Cost.ROUTINE,
                level=logging.INFO,
            )
        rendered = plain
        if not staging and found is not None and found.access.encrypt_config:
            rendered = sealed(plain, request, found, self.box)
        packed = pack(rendered.body)
        if request.mac is not None:
            self._store(key, request.mac, read_at, rendered, packed)
        self.cache.put(key, rendered, revision, subject=request.mac, packed=packed)
        return rendered

    def _store(
        self, key: tuple[object, ...], mac: str, read_at: int, file: RenderedFile, packed: bytes
    ) -> None:
        """Keep a render for every worker; a database that refuses the write now (a busy
        SQLite) costs only a render later, never the fetch."""
        try:
            self.store.put(key, mac, read_at, file, packed)
        except SQLAlchemyError as exc:
            log.warning("render of %s not stored: %s", mac, exc)

    def _record(self, identified: IdentifiedFetch, rendered: RenderedFile) -> Delivery:
        """The served file on its device's timeline, with the hash that tells a resync
        whether the device got the file it was told about."""
        if not identified.proven:  # a claim moves nothing: no address, version or count
            return Delivery(Outcome.SERVED, rendered.body, rendered.content_type)
        if identified.request.kind is FileKind.DEVICE and identified.found is not None:
            self.served.note(identified.found.mac, rendered.sha256, identified.fetch.source)
        if (mac := identified.device_mac) is not None:
            self._timeline_event(
                identified.fetch,
                mac,
                EventKind.FETCH,
                Outcome.SERVED,
                firmware=identified.reported_firmware,
                sha256=rendered.sha256,
            )
        return Delivery(Outcome.SERVED, rendered.body, rendered.content_type)

    def _settle(self, fetch: Fetch, refusal: Refusal, charge: bool) -> Delivery:
        """A refusal, whichever stage raised it: counted, logged and charged to its source
        (unless it is the bench), told on the device it concerns, and turned into the
        Delivery the front door maps."""
        if refusal.label is not None:
            metrics.count_refusal(fetch.protocol, refusal.label)
        if refusal.cost is not None:
            security_log.log(
                refusal.level,
                "refused %s %s from %s (%s): %s",
                fetch.protocol,
                fetch.filename[:80],
                fetch.source,
                refusal.outcome.value,
                refusal.reason,
            )
            if charge:
                self.admission.charge(fetch, refusal.cost, refusal.wrong_answer)
        if refusal.record_on and self.told.tell(refusal.record_on, refusal.reason):
            self._timeline_event(
                fetch, refusal.record_on, EventKind.REFUSED, refusal.outcome, detail=refusal.reason
            )
        return Delivery(refusal.outcome, reason=refusal.reason, challenge=refusal.challenge)

    # --- what the stages share ---------------------------------------------------------------

    def _on_staging_network(self, source: str) -> bool:
        return in_networks(source, self.staging)

    def _device(self, request: FileRequest) -> DeviceRecord | None:
        """The device behind a per-device name, its row only (the rest is read when its file
        is rendered); cached like files. An unknown MAC is told by the in-memory set of MACs
        in service: no query, as for a cached known one."""
        if request.mac is None:
            return None
        key = (request.vendor, request.mac)
        found = self.devices.get(key)
        if found is None and key in self.known:
            revision = self.devices.revision
            with self.db.engine.connect() as connection:
                found = find_record(connection, request.mac, request.vendor)
            if found is not None:
                self.devices.put(key, found, revision, subject=request.mac)
        return found

    def _prove_device(
        self, fetch: Fetch, found: DeviceRecord | None, first_contact: bool, locked: bool = False
    ) -> None:
        """Return when the request authenticates as the device (or, on a file fetch, is a
        shipped device's first contact, which installs it); else raise the 401, or the 429
        for wrong credentials from a locked-out source or for a locked-out username. A
        correct answer is never refused: the device has proved itself."""
        verdict = authorization.credential_verdict(
            fetch, found, self._password, self.spent, self.mint
        )
        if verdict == DigestVerdict.OK:
            self.admission.refund(fetch)
            return
        bad = verdict in (DigestVerdict.BAD, DigestVerdict.REPLAY)
        if bad and (locked or (verdict == DigestVerdict.BAD and self.admission.user_locked(fetch))):
            raise Refusal(
                Outcome.LOCKED,
                "locked out",
                label="locked_out",
                cost=Cost.BAD_CREDENTIALS,
                wrong_answer=verdict == DigestVerdict.BAD,
            )
        if (
            first_contact
            and verdict is None
            and found is not None
            and authorization.install_on_first_contact(fetch, found, self.db, self.box)
        ):
            return
        raise authorization.challenge(verdict, self.mint, fetch, found, first_contact)

    @staticmethod
    def _offer(
        director: FirmwareDirector,
        request: FileRequest,
        found: DeviceRecord | None,
        reported: str | None,
    ) -> FirmwareOffer | None:
        """The firmware step a device's own file names; other files name none."""
        if found is None or request.kind is not FileKind.DEVICE:
            return None
        return director.offer(found, reported)

    def _timeline_event(
        self,
        fetch: Fetch,
        mac: str,
        kind: EventKind,
        outcome: Outcome,
        *,
        firmware: str | None = None,
        sha256: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Put the fetch on the device's timeline (written in batches, off this thread)."""
        if self.timeline is None:
            return
        self.timeline.record(
            Event(
                mac=mac,
                kind=kind,
                at=utcnow(),
                protocol=fetch.protocol,
                filename=fetch.filename,
                source=fetch.source,
                user_agent=fetch.user_agent,
                firmware=firmware,
                status=outcome.value,
                sha256=sha256,
                detail=detail,
            )
        )
