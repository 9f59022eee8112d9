"""``<state_dir>/config.json``: what the provisioner decided for this gateway, checked before use.

The engine never applies half a configuration: a document is parsed and its licence verified as a
whole, and only a complete :class:`GatewayConfig` reaches Kamailio. Every refusal names the field.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from gateway32.licence import Licence, LicenceError, load_public_key, verify

EMERGENCY_NUMBERS = ("110", "118", "119")
REFUSALS = ("busy", "unavailable")
_NUMBER = re.compile(r"\+?[0-9]{1,32}")
_USER = re.compile(r"[A-Za-z0-9+._-]{1,64}")
_TENANT = re.compile(r"[^\x00-\x1f\"\\]{1,100}")


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
class GatewayConfig:
    licence: Licence
    tenant: str
    numbers: dict[str, str]  # ported DID -> user part at the PBX core
    default_caller_id: str
    trunk: Peer
    cores: tuple[Peer, ...]  # primary first
    refusal: str
    max_call_seconds: int

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
    return GatewayConfig(
        licence=licence,
        tenant=tenant,
        numbers=numbers,
        default_caller_id=_text(doc, "default_caller_id", _NUMBER),
        trunk=_peer(doc.get("trunk"), "trunk"),
        cores=tuple(_peer(core, f"cores[{i}]") for i, core in enumerate(cores)),
        refusal=refusal,
        max_call_seconds=max_seconds,
    )


def _text(doc: dict[str, object], name: str, pattern: re.Pattern[str]) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{name} is missing or malformed: {value!r}")
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
