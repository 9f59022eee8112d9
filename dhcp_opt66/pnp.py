"""SIP plug-and-play on the bench: the multicast SUBSCRIBE (224.0.1.75, ``Event: ua-profile``)
that Panasonic phones send before they look at DHCP options, and Grandstream phones may send,
gets a 200 OK and a NOTIFY whose ``application/url`` body is the provisioning URL.

Only ua-profile SUBSCRIBEs are answered; anything else on the group is someone else's and is
ignored; a malformed message is dropped with one log line. The NOTIFY is sent again (T1
doubling, as RFC 3261 wants over UDP) until the phone answers it or three tries have gone.
"""

from __future__ import annotations

import logging
import re
import secrets
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from dhcp_opt66.vendors import PANASONIC, vendor_of

log = logging.getLogger(__name__)

GROUP = "224.0.1.75"
MAX_MESSAGE = 8192
T1 = 0.5
TRIES = 3
_COMPACT = {
    "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "o": "event",
    "l": "content-length",
}  # fmt: skip
_MAC = re.compile(r"(?:MAC%3[aA]|MAC:)?([0-9A-Fa-f]{12})@", re.ASCII)
_MODEL = re.compile(r"[A-Za-z0-9-]{2,30}")
_PARAM = re.compile(r';\s*([A-Za-z-]+)\s*=\s*"?([^";]*)"?')
_CONTACT = re.compile(r"<?sips?:(?:[^@>;]*@)?\[?([0-9.]+)\]?(?::(\d+))?", re.ASCII)


class BadSip(ValueError):
    pass


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    headers: dict[str, list[str]]

    def one(self, name: str) -> str:
        values = self.headers.get(name)
        if not values:
            raise BadSip(f"no {name} header")
        return values[0]


def parse(data: bytes) -> Request:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSip("not UTF-8") from exc
    head = text.split("\r\n\r\n", 1)[0].replace("\r\n", "\n")
    lines = head.split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "SIP/2.0" or not parts[0].isalpha():
        raise BadSip(f"not a SIP request line: {lines[0][:60]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BadSip(f"bad header line {line[:60]!r}")
        key = name.strip().lower()
        headers.setdefault(_COMPACT.get(key, key), []).append(value.strip())
    return Request(parts[0].upper(), parts[1], headers)


def provisioning_url(request: Request, base: str) -> str:
    """Panasonic wants its pre-provisioning file ``<MODEL>.cfg``; others get the base URL."""
    event = request.one("event")
    params = {key.lower(): value for key, value in _PARAM.findall(event)}
    mac = _MAC.search(request.uri)
    vendor = vendor_of(_colons(mac.group(1)) if mac else "", params.get("vendor", ""))
    base = base.rstrip("/")
    if vendor is PANASONIC:
        model = params.get("model", "")
        if not _MODEL.fullmatch(model):
            model = "{MODEL}"  # the phone's own macro
        return f"{base}/{model}.cfg"
    return base


def _colons(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)).lower()


@dataclass
class _Pending:
    message: bytes
    to: tuple[str, int]
    tries: int = 1
    due: float = field(default_factory=lambda: time.monotonic() + T1)


class PnpResponder:
    """Answers on ``iface`` only: joined to the group there, unicast from the bench address."""

    def __init__(self, iface: str, address: IPv4Address, url: str, port: int = 5060) -> None:
        self._address = str(address)
        self._port = port
        self._url = url
        self._group = self._socket(iface, (GROUP, port))
        self._group.setsockopt(
            socket.IPPROTO_IP,
            socket.IP_ADD_MEMBERSHIP,
            struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(self._address)),
        )
        self._unicast = self._socket(iface, (self._address, port))
        self._pending: dict[str, _Pending] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.answered = 0

    @staticmethod
    def _socket(iface: str, bind: tuple[str, int]) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        sock.bind(bind)
        return sock

    def start(self) -> PnpResponder:
        self._thread = threading.Thread(target=self._run, name="sip-pnp", daemon=True)
        self._thread.start()
        log.info("SIP PnP: answering ua-profile SUBSCRIBEs on %s:%d", GROUP, self._port)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._group.close()
        self._unicast.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._group, self._unicast], [], [], 0.2)
            for sock in readable:
                try:
                    data, source = sock.recvfrom(MAX_MESSAGE)
                    self._handle(data, source)
                except Exception:  # one bad datagram never ends plug-and-play for the bench
                    log.exception("SIP PnP: a datagram could not be handled")
            self._retransmit()

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        if data.startswith(b"SIP/2.0 "):
            self._answer_to_notify(data)
            return
        try:
            request = parse(data)
            if request.method != "SUBSCRIBE":
                return
            event = request.one("event")
            if event.split(";", 1)[0].strip().lower() != "ua-profile":
                return
            self._subscribe(request, source)
        except BadSip as exc:
            log.warning("SIP PnP: dropped a malformed message from %s:%d: %s", *source, exc)

    def _subscribe(self, request: Request, source: tuple[str, int]) -> None:
        call_id = request.one("call-id")
        from_ = request.one("from")
        to = request.one("to")
        cseq = request.one("cseq")
        vias = request.headers.get("via") or []
        if not vias:
            raise BadSip("no Via header")
        url = provisioning_url(request, self._url)
        tag = secrets.token_hex(6)
        to_tagged = to if ";tag=" in to else f"{to};tag={tag}"
        ok = [
            "SIP/2.0 200 OK",
            *(f"Via: {via}" for via in vias),
            f"From: {from_}",
            f"To: {to_tagged}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq}",
            f"Contact: <sip:{self._address}:{self._port}>",
            "Expires: 0",
            "Content-Length: 0",
        ]
        self._unicast.sendto(_message(ok), source)
        target = self._contact(request) or source
        body = url.encode()
        notify = [
            f"NOTIFY sip:{target[0]}:{target[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP {self._address}:{self._port};branch=z9hG4bK{secrets.token_hex(8)}",
            "Max-Forwards: 70",
            f"From: {to_tagged}",
            f"To: {from_}",
            f"Call-ID: {call_id}",
            "CSeq: 1 NOTIFY",
            f"Event: {request.one('event')}",
            "Subscription-State: terminated;reason=timeout",
            "Content-Type: application/url",
            f"Content-Length: {len(body)}",
        ]
        message = _message(notify, body)
        self._unicast.sendto(message, target)
        self._pending[call_id] = _Pending(message, target)
        self.answered += 1
        log.info("SIP PnP: %s at %s:%d gets %s", request.uri, *source, url)

    @staticmethod
    def _contact(request: Request) -> tuple[str, int] | None:
        contact = (request.headers.get("contact") or [""])[0]
        found = _CONTACT.search(contact)
        if not found:
            return None
        try:
            IPv4Address(found.group(1))
        except ValueError:
            return None
        return found.group(1), int(found.group(2) or 5060)

    def _answer_to_notify(self, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        found = re.search(r"^(?:Call-ID|i)\s*:\s*(\S+)", text, re.IGNORECASE | re.MULTILINE)
        if found:
            self._pending.pop(found.group(1), None)

    def _retransmit(self) -> None:
        now = time.monotonic()
        for call_id, pending in list(self._pending.items()):
            if pending.due > now:
                continue
            if pending.tries >= TRIES:
                log.warning("SIP PnP: no answer to the NOTIFY for %s", call_id)
                del self._pending[call_id]
                continue
            self._unicast.sendto(pending.message, pending.to)
            pending.tries += 1
            pending.due = now + T1 * 2 ** (pending.tries - 1)


def _message(lines: list[str], body: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
