"""Config delivery: from "this file name was asked for" to the bytes to send, or a refusal.

The pipeline every front door runs (HTTP, TFTP, the CLI's ``render``):
facts of the request (file name, User-Agent, source) -> which vendor file it is -> which device
-> does what the device says of itself agree -> render -> record on the device's timeline.
A file that does not exist or must not be given is ``NOT_FOUND``; the front door maps the
outcome to its protocol (404 / TFTP error 1, 403 / TFTP error 2).
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass

from provisioner.db.session import Database
from provisioner.domain.inventory import find_device_view, provisioning_context
from provisioner.domain.render_cache import RenderCache, RenderedFile
from provisioner.domain.timeline import Event, TimelineWriter
from provisioner.rendering import render_plan
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import match_file, parse_user_agent, vendor
from provisioner.vendors.base import DeviceView, FileKind, FileRequest, RenderError

log = logging.getLogger(__name__)
security_log = logging.getLogger("provisioner.security")


class Outcome(enum.Enum):
    SERVED = 200
    FORBIDDEN = 403
    NOT_FOUND = 404
    FAILED = 500


@dataclass(frozen=True)
class Fetch:
    """What a device asked for and what it said about itself."""

    path: str  # as requested; only the last segment names the file
    protocol: str  # "http", "https", "tftp", "cli"
    source: str  # client IP address
    user_agent: str | None = None

    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    body: bytes = b""
    content_type: str = "text/plain"
    reason: str = ""


class Provisioner:
    """The delivery service one process shares between its front doors."""

    def __init__(
        self, db: Database, box: SecretBox, settings: Settings, timeline: TimelineWriter | None
    ) -> None:
        self.db = db
        self.box = box
        self.settings = settings
        self.context = provisioning_context(settings)
        self.timeline = timeline
        self.cache = RenderCache(db.revision)

    def deliver(self, fetch: Fetch) -> Delivery:
        request = match_file(fetch.filename)
        if request is None:
            return self._refuse(fetch, Outcome.NOT_FOUND, "no such file name")
        agent = parse_user_agent(fetch.user_agent) if fetch.user_agent else None
        if request.mac and agent and agent.mac and agent.mac != request.mac:
            return self._refuse(
                fetch,
                Outcome.FORBIDDEN,
                f"User-Agent MAC {agent.mac} asked for the file of {request.mac}",
                record_on=request.mac,
            )
        mac = request.mac or (agent.mac if agent else None)
        key = (request.vendor, request.kind, request.mac, request.model)
        rendered = self.cache.get(key)
        if rendered is None:
            revision = self.cache.revision
            outcome = self._render(fetch, request)
            if isinstance(outcome, Delivery):
                return outcome
            rendered = outcome
            self.cache.put(key, rendered, revision)
        if mac:
            firmware = agent.firmware if agent else None
            self._record(
                fetch, mac, "fetch", Outcome.SERVED, firmware=firmware, sha256=rendered.sha256
            )
        return Delivery(Outcome.SERVED, rendered.body, rendered.content_type)

    def _render(self, fetch: Fetch, request: FileRequest) -> RenderedFile | Delivery:
        """The file, or the refusal that replaces it."""
        view = self._device(request)
        if request.kind is FileKind.DEVICE and view is None:
            return self._refuse(fetch, Outcome.NOT_FOUND, "unknown device")
        try:
            plan = vendor(request.vendor).plan(request, view, self.context)
            if plan is None:
                # Devices walk a fallback chain (cfg<mac>, cfg<mac>.xml, cfg<model>.xml,
                # cfg.xml): a 404 here is routine, not a security event.
                return self._refuse(
                    fetch, Outcome.NOT_FOUND, f"{request.kind} file not served", level=logging.INFO
                )
            body = render_plan(plan)
        except RenderError as exc:
            log.error("cannot render %s: %s", fetch.filename, exc)
            return Delivery(Outcome.FAILED, reason=str(exc))
        return RenderedFile(body, plan.content_type, hashlib.sha256(body).hexdigest())

    def _device(self, request: FileRequest) -> DeviceView | None:
        if request.mac is None:
            return None
        with self.db.engine.connect() as connection:
            return find_device_view(connection, self.box, request.mac, request.vendor)

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
        record_on: str | None = None,
        level: int = logging.WARNING,
    ) -> Delivery:
        security_log.log(
            level,
            "refused %s %s from %s (%s): %s",
            fetch.protocol,
            fetch.filename[:80],
            fetch.source,
            outcome.value,
            reason,
        )
        if record_on:
            self._record(fetch, record_on, "refused", outcome, detail=reason)
        return Delivery(outcome, reason=reason)
