"""The channel licence: issued and signed by the provisioner, verified offline by the gateway.

A licence is a small JSON document: the terms, and an Ed25519 signature over their canonical
form (sorted keys, no spaces, UTF-8). The provisioner imports this module to issue; the gateway
imports it to verify, with nothing but the issuer's public key. Every refusal names its cause,
because the person reading it is a support engineer on the phone with a customer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CHANNEL_TIERS = (4, 8, 16, 32)
_SERIAL = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")
_MAC = re.compile(r"[0-9a-f]{12}")
_FIELDS = ("serial", "tenant", "gateway", "channels", "not_before", "expires")


class LicenceError(ValueError):
    """A licence the gateway refuses; the message names the problem."""


@dataclass(frozen=True)
class Licence:
    """The terms of one licence: which gateway may carry how many simultaneous calls, when."""

    serial: str
    tenant: str
    gateway: str  # the gateway device's MAC, 12 lower-case hex digits
    channels: int
    not_before: dt.datetime
    expires: dt.datetime

    def __post_init__(self) -> None:
        if not _SERIAL.fullmatch(self.serial):
            raise LicenceError(f"serial {self.serial!r} is not 1-40 of A-Z, 0-9 and '-'")
        if not self.tenant or len(self.tenant) > 100:
            raise LicenceError("tenant must be 1 to 100 characters")
        if not _MAC.fullmatch(self.gateway):
            raise LicenceError(f"gateway {self.gateway!r} is not a MAC of 12 lower-case hex digits")
        if self.channels not in CHANNEL_TIERS:
            raise LicenceError(f"channels must be one of {CHANNEL_TIERS}, not {self.channels}")
        for name in ("not_before", "expires"):
            if getattr(self, name).tzinfo is None:
                raise LicenceError(f"{name} must carry a time zone")
        if self.expires <= self.not_before:
            raise LicenceError("expires must come after not_before")

    def terms(self) -> dict[str, str | int]:
        values = asdict(self)
        for name in ("not_before", "expires"):
            values[name] = _utc_text(values[name])
        return values


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical(terms: dict[str, str | int]) -> bytes:
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def issue(licence: Licence, key: Ed25519PrivateKey) -> bytes:
    """The signed document for ``licence``: what the provisioner hands the gateway."""
    terms = licence.terms()
    signature = base64.b64encode(key.sign(_canonical(terms))).decode()
    document = {"licence": terms, "signature": signature}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def verify(
    document: bytes,
    issuer: Ed25519PublicKey,
    *,
    gateway: str | None = None,
    now: dt.datetime | None = None,
) -> Licence:
    """The licence in ``document`` if the issuer signed it, it is in force and it is ours."""
    try:
        parsed = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LicenceError(f"licence is not a JSON document ({exc})") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("licence"), dict):
        raise LicenceError("licence document has no 'licence' object")
    terms, signature = parsed["licence"], parsed.get("signature")
    if sorted(terms) != sorted(_FIELDS):
        raise LicenceError(f"licence terms must be exactly {', '.join(_FIELDS)}")
    try:
        raw_signature = base64.b64decode(str(signature), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LicenceError("licence signature is not base64") from exc
    try:
        issuer.verify(raw_signature, _canonical(terms))
    except InvalidSignature as exc:
        raise LicenceError(
            "licence signature does not match: the licence was altered or was not issued by "
            "this gateway's provisioner"
        ) from exc
    licence = _parse_terms(terms)
    moment = now or dt.datetime.now(dt.UTC)
    if moment < licence.not_before:
        raise LicenceError(
            f"licence {licence.serial} is not valid before {_utc_text(licence.not_before)}"
        )
    if moment >= licence.expires:
        raise LicenceError(f"licence {licence.serial} expired at {_utc_text(licence.expires)}")
    if gateway is not None and licence.gateway != gateway:
        raise LicenceError(
            f"licence {licence.serial} is for gateway {licence.gateway}, not this one ({gateway})"
        )
    return licence


def _parse_terms(terms: dict[str, object]) -> Licence:
    try:
        return Licence(
            serial=str(terms["serial"]),
            tenant=str(terms["tenant"]),
            gateway=str(terms["gateway"]),
            channels=int(str(terms["channels"])),
            not_before=dt.datetime.fromisoformat(str(terms["not_before"])),
            expires=dt.datetime.fromisoformat(str(terms["expires"])),
        )
    except ValueError as exc:
        raise LicenceError(f"licence terms are malformed: {exc}") from exc


def public_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The issuer's public half, as the gateway's settings hold it."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise LicenceError(f"issuer key is not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LicenceError("issuer key is not an Ed25519 key")
    return key
