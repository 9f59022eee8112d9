"""``<state_dir>/config.json``: what the provisioner decided for this gateway, checked before use.

The engine never applies half a configuration: a document is parsed and its licence verified as a
whole, and only a complete :class:`GatewayConfig` reaches Kamailio. Every refusal names the field.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from gateway32.licence import Licence, LicenceError, load_public_key, verify

EMERGENCY_NUMBERS = ("110", "118", "119")
REFUSALS = ("busy", "unavailable")
_NUMBER = re.compile(r"\+?[0-9]{1,32}")
_USER = re.compile(r"[A-Za-z0-9+._-]{1,64}")
_TENANT = re.compile(r"[^\x00-\x1f\"\\]{1,100}")
# A trunk account's user names and password travel in SIP headers and a Kamailio RPC string:
# printable ASCII, no quote, backslash or space (the provisioner refuses the same).
_ACCOUNT = re.compile(r"[A-Za-z0-9+._@-]{1,64}")
_PASSWORD = re.compile(r"[!#-\[\]-~]{1,128}")
MIN_EXPIRES, MAX_EXPIRES = 60, 86_400


class ConfigError(ValueError):
    """config.json cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class Peer:
    host: str  # an IP address: Kamailio matches the source address of requests against it
    port: int

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"


@dataclass(frozen=True)
class Registration:
    """The carrier wants this gateway to REGISTER and to answer digest challenges on INVITE.

    ``registrar`` receives the REGISTERs (its address is the SIP domain of the account);
    ``outbound_proxy``, when given, is where they (and the calls) are sent instead.
    """

    registrar: Peer
    user: str  # the account: the user part of To/From in REGISTER and of the Contact
    auth_user: str  # the digest user name (often the same as ``user``)
    password: str = field(repr=False)  # never in a repr, a log line or a status
    expires: int = 3600
    outbound_proxy: Peer | None = None

    @property
    def domain(self) -> str:
        """The registrar as host:port, the domain part of the account's URIs."""
        return self.registrar.uri.removeprefix("sip:")

    def sources(self) -> tuple[Peer, ...]:
        """Addresses a carrier request may come from besides the trunk itself."""
        return (self.registrar,) + ((self.outbound_proxy,) if self.outbound_proxy else ())


@dataclass(frozen=True)
class GatewayConfig:
    licence: Licence
    tenant: str
    numbers: dict[str, str]  # ported DID -> user part at the PBX core
    default_caller_id: str
    trunk: Peer
    cores: tuple[Peer, ...]  # primary first
    refusal: str
    max_call_seconds: int
    registration: Registration | None = None  # None: the carrier trusts the trunk by address

    def carrier_sources(self) -> tuple[Peer, ...]:
        """Every address whose requests are the carrier's (inbound calls, in-dialog requests)."""
        extra = self.registration.sources() if self.registration else ()
        return tuple(dict.fromkeys((self.trunk, *extra)))

    def caller_ids(self) -> dict[str, str]:
        """Calling extension -> the DID shown for it outbound (the first DID that maps to it)."""
        shown: dict[str, str] = {}
        for did, destination in self.numbers.items():
            shown.setdefault(destination, did)
        return shown


def load_config(path: Path, issuer_key: Path, gateway: str | None) -> GatewayConfig:
    """The configuration in ``path`` with its licence verified against ``issuer_key``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        pem = issuer_key.read_bytes()
    except OSError as exc:
        raise LicenceError(f"cannot read the issuer key {issuer_key}: {exc.strerror}") from exc
    return parse_config(raw, pem, gateway)


def parse_config(raw: bytes, issuer_pem: bytes, gateway: str | None) -> GatewayConfig:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config.json is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ConfigError("config.json must be a JSON object")
    licence_doc = doc.get("licence")
    if not isinstance(licence_doc, dict):
        raise ConfigError("config.json has no 'licence' object")
    licence = verify(
        json.dumps(licence_doc).encode(), load_public_key(issuer_pem), gateway=gateway or None
    )
    tenant = _text(doc, "tenant", _TENANT)
    if tenant != licence.tenant:
        raise LicenceError(f"licence {licence.serial} is for tenant {licence.tenant}, not {tenant}")
    numbers = _numbers(doc.get("numbers"))
    refusal = doc.get("refusal", "busy")
    if refusal not in REFUSALS:
        raise ConfigError(f"refusal must be one of {', '.join(REFUSALS)}, not {refusal!r}")
    max_seconds = doc.get("max_call_seconds", 7200)
    if not isinstance(max_seconds, int) or isinstance(max_seconds, bool) or max_seconds < 10:
        raise ConfigError("max_call_seconds must be a whole number of seconds, at least 10")
    cores = doc.get("cores")
    if not isinstance(cores, list) or not cores:
        raise ConfigError("cores must be a non-empty list of {host, port}")
    trunk = doc.get("trunk")
    return GatewayConfig(
        licence=licence,
        tenant=tenant,
        numbers=numbers,
        default_caller_id=_text(doc, "default_caller_id", _NUMBER),
        trunk=_peer(trunk, "trunk"),
        cores=tuple(_peer(core, f"cores[{i}]") for i, core in enumerate(cores)),
        refusal=refusal,
        max_call_seconds=max_seconds,
        registration=_registration(trunk),
    )


def _registration(trunk: object) -> Registration | None:
    """``trunk.registration``: absent or null means the carrier trusts the trunk's address."""
    value = trunk.get("registration") if isinstance(trunk, dict) else None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError("trunk.registration must be an object or null")
    user = _text(value, "user", _ACCOUNT, "trunk.registration.")
    auth_user = value.get("auth_user") or user
    if not isinstance(auth_user, str) or not _ACCOUNT.fullmatch(auth_user):
        raise ConfigError(f"trunk.registration.auth_user is malformed: {auth_user!r}")
    password = value.get("password")
    if not isinstance(password, str) or not _PASSWORD.fullmatch(password):
        # the value itself is never echoed: it is a secret
        raise ConfigError("trunk.registration.password is missing or has characters not allowed")
    expires = value.get("expires", 3600)
    if (not isinstance(expires, int) or isinstance(expires, bool)
            or not MIN_EXPIRES <= expires <= MAX_EXPIRES):  # fmt: skip
        raise ConfigError(
            f"trunk.registration.expires must be {MIN_EXPIRES}-{MAX_EXPIRES} s, not {expires!r}"
        )
    proxy = value.get("outbound_proxy")
    return Registration(
        registrar=_peer(value.get("registrar", trunk), "trunk.registration.registrar"),
        user=user,
        auth_user=auth_user,
        password=password,
        expires=expires,
        outbound_proxy=None if proxy is None else _peer(proxy, "trunk.registration.outbound_proxy"),
    )


def _text(doc: dict[str, object], name: str, pattern: re.Pattern[str], prefix: str = "") -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{prefix}{name} is missing or malformed: {value!r}")
    return value


def _numbers(value: object) -> dict[str, str]:
    if not isinstance(value, list):
        raise ConfigError("numbers must be a list of {did, destination}")
    numbers: dict[str, str] = {}
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ConfigError(f"numbers[{i}] must be an object")
        did, destination = entry.get("did"), entry.get("destination")
        if not isinstance(did, str) or not _NUMBER.fullmatch(did):
            raise ConfigError(f"numbers[{i}].did is not a telephone number: {did!r}")
        if not isinstance(destination, str) or not _USER.fullmatch(destination):
            raise ConfigError(f"numbers[{i}].destination is not a SIP user part: {destination!r}")
        if did in numbers:
            raise ConfigError(f"numbers[{i}].did {did} appears twice")
        numbers[did] = destination
    return numbers


def _peer(value: object, name: str) -> Peer:
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be an object with host and port")
    host, port = value.get("host"), value.get("port", 5060)
    transport = value.get("transport", "udp")
    if transport != "udp":
        raise ConfigError(f"{name}.transport {transport!r} is not supported (udp only)")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"{name}.port must be 1-65535, not {port!r}")
    if not isinstance(host, str) or not host:
        raise ConfigError(f"{name}.host is missing")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        try:
            address = str(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0])
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"{name}.host {host!r} does not resolve ({exc})") from exc
    return Peer(address, port)
