"""What goes into the delivery pipeline, what its stages pass along, and what comes out."""

from __future__ import annotations

import enum
import logging
from typing import NamedTuple

from provisioner.domain.delivery.digest import DigestResponse
from provisioner.domain.delivery.ratelimit import Cost
from provisioner.domain.inventory.lookup import DeviceRecord
from provisioner.vendors.base import FileRequest


class Outcome(enum.Enum):
    SERVED = 200
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    LOCKED = 429
    FAILED = 500


class Fetch(NamedTuple):
    """What a device asked for, what it said about itself, and what it proved.

    Immutable; a named tuple because two are built per Digest fetch (the challenge, the
    answer): less than half the cost of a frozen dataclass."""

    path: str  # as requested; only the last segment names the file
    protocol: str  # "http", "https", "tftp", "cli"
    source: str  # client IP address
    user_agent: str | None = None
    method: str = "GET"
    digest: DigestResponse | None = None
    basic: tuple[str, str] | None = None  # (user, password); honoured over HTTPS only
    # The request's path (percent-decoded) and query as HTTP received them: a Digest answer
    # is for one URI (RFC 7616 section 3.4.6). None where there is no request line (TFTP, CLI).
    target: str | None = None

    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


class Delivery(NamedTuple):
    """The pipeline's verdict: the file to send, or a refusal to map onto the protocol."""

    outcome: Outcome
    body: bytes = b""
    content_type: str = "text/plain"
    reason: str = ""
    challenge: str | None = None  # WWW-Authenticate value for UNAUTHORIZED


class IdentifiedFetch(NamedTuple):
    """A fetch once identification knows its file and device: what the later stages share.

    Immutable, so no stage can alter what another decided on; a named tuple, built with
    positional arguments, because one is built per fetch and it costs a third of a frozen
    dataclass.
    """

    fetch: Fetch
    staging: bool  # from a staging network (or the operator's own CLI): the bench variant
    request: FileRequest
    found: DeviceRecord | None  # the device behind a per-device name, if it is in service
    reported_firmware: str | None  # the version the User-Agent reports, if any
    device_mac: str | None  # whose timeline the fetch goes on: the file's MAC, else the agent's
    # Who fetched is proven: the bench, the device's own credentials, or its awaited first
    # contact (or re-enrolment) from its tenant's networks. An unproven fetch is attributed
    # to no device: a User-Agent is only a claim (docs/security.md, "Attribution").
    proven: bool


class Refusal(Exception):
    """A stage's "no": raised where the decision is made, settled once by the pipeline.

    Settling counts it under ``label``, and, when it has a ``cost``, logs it as a security
    event and charges the source's rate limit with it; ``record_on`` puts it on that device's
    timeline. A refusal without a cost is not the source's fault (a lockout already decided, a
    file we cannot render): nothing more is charged for it.
    """

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        label: str | None = None,  # the reason as a metric label (a fixed set)
        cost: Cost | None = None,
        level: int = logging.WARNING,
        record_on: str | None = None,
        challenge: str | None = None,
        wrong_answer: bool = False,  # a wrong password: counted against the claimed username
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.label = label
        self.cost = cost
        self.level = level
        self.record_on = record_on
        self.challenge = challenge
        self.wrong_answer = wrong_answer
