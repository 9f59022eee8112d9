"""The resync NOTIFY: out of dialog, to the device's contact, challenged by the device.

What is sent follows what the devices are known to act on (``docs/vendors.md``
§4): ``Event`` from the vendor module, no body, and ``Subscription-State:
terminated;reason=noresource`` as FreeSWITCH sends with it (which FusionPBX's check-sync
uses; RFC 6665 wants the header on every NOTIFY). From is the PBX core the device is told
to register with; To and the Request-URI are line 1's user. A 401 or 407 is answered once
with Digest over line 1's credentials; a second challenge means the device refused them,
and we stop there rather than try again.
"""

from __future__ import annotations

import logging
import secrets
import time

from provisioner.domain.delivery.resync import NotifyAnswer, NotifyRequest
from provisioner.sip.digest import DigestError, authorization, parse_challenge
from provisioner.sip.message import Response, build_request
from provisioner.sip.transaction import TransactionKey, UdpEndpoint

log = logging.getLogger(__name__)

METHOD = "NOTIFY"
USER_AGENT = "zerotouch-provisioning"
# challenge status -> (the header with the challenge, the header to answer it in)
_CHALLENGES = {
    401: ("www-authenticate", "Authorization"),
    407: ("proxy-authenticate", "Proxy-Authorization"),
}


def send_notify(request: NotifyRequest) -> NotifyAnswer:
    """Send the NOTIFY and answer one challenge; never raises for what the network does."""
    deadline = time.monotonic() + request.timeout
    try:
        with UdpEndpoint(request.target.host, request.target.port) as endpoint:
            return _exchange(request, endpoint, deadline)
    except OSError as exc:  # unresolvable name, no route, ...
        return NotifyAnswer(None, f"cannot send to {request.target}: {exc}")


def _exchange(request: NotifyRequest, endpoint: UdpEndpoint, deadline: float) -> NotifyAnswer:
    notify = _Notify(request, endpoint.local)
    first = endpoint.transact(*notify.message(), deadline)
    if first is None or first.status not in _CHALLENGES:
        return _answer(first, request, challenged=False)
    challenge_header, credentials_header = _CHALLENGES[first.status]
    try:
        challenge = parse_challenge(first.first(challenge_header) or "")
    except DigestError as exc:
        return NotifyAnswer(first.status, f"{first.reason}: {exc}")
    credentials = authorization(
        challenge, method=METHOD, uri=notify.uri, username=request.user, password=request.password
    )
    second = endpoint.transact(*notify.message((credentials_header, credentials)), deadline)
    if second is not None and second.status in _CHALLENGES:
        return NotifyAnswer(
            second.status,
            f"{second.reason}: the device refused line 1's credentials "
            "(does its SIP password match the inventory?)",
            challenged=True,
        )
    return _answer(second, request, challenged=True)


def _answer(response: Response | None, request: NotifyRequest, challenged: bool) -> NotifyAnswer:
    if response is None:
        return NotifyAnswer(
            None, f"no answer from {request.target} in {request.timeout:g} s", challenged
        )
    return NotifyAnswer(response.status, response.reason, challenged)


class _Notify:
    """The NOTIFYs of one exchange: same Call-ID and From tag, a new CSeq and branch each."""

    def __init__(self, request: NotifyRequest, local: tuple[str, int]) -> None:
        self.request = request
        self.uri = f"sip:{request.user}@{request.target}"
        self.via_host = f"[{local[0]}]:{local[1]}" if ":" in local[0] else f"{local[0]}:{local[1]}"
        self.call_id = secrets.token_hex(16)
        self.tag = secrets.token_hex(8)
        self.cseq = 0

    def message(self, *extra: tuple[str, str]) -> tuple[bytes, TransactionKey]:
        self.cseq += 1
        branch = "z9hG4bK" + secrets.token_hex(12)
        request = self.request
        headers = [
            ("Via", f"SIP/2.0/UDP {self.via_host};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{request.pbx_core}>;tag={self.tag}"),
            ("To", f"<sip:{request.user}@{request.pbx_core}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} {METHOD}"),
            ("Contact", f"<sip:{self.via_host}>"),
            ("Event", request.event),
            ("Subscription-State", "terminated;reason=noresource"),
            ("User-Agent", USER_AGENT),
            *extra,
        ]
        log.debug("NOTIFY %s (CSeq %d, Event: %s)", self.uri, self.cseq, request.event)
        message = build_request(METHOD, self.uri, headers)
        return message, TransactionKey(branch, self.call_id, self.cseq, METHOD)
