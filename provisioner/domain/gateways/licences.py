"""Channel licences for gateways: the issuer key, issuing, and reading them back.

The issuer key is made on first use and kept encrypted under the service key; only its public
half ever leaves (``provisioner licence public-key``), for the gateways' settings. Issuing
signs the terms with :func:`gateway32.licence.issue`, the same document format the gateway
verifies, and stores the exact signed bytes the gateway will fetch.
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from gateway32.licence import CHANNEL_TIERS, Licence, LicenceError, issue, public_key_pem
from provisioner.db.gateways import GatewayLicence, IssuerKey
from provisioner.db.models import Device, DeviceEvent, utcnow
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.gateways.devices import bound_tenant
from provisioner.domain.inventory import tenants
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox

ISSUER_KEY_ID = 1
MAX_DAYS = 3660  # ten years: a longer licence is a typo
_SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def issuer_key(session: Session, box: SecretBox) -> Ed25519PrivateKey:
    """The signing key, made and stored (encrypted) the first time it is needed."""
    stored = session.get(IssuerKey, ISSUER_KEY_ID) or _make_issuer_key(session, box)
    loaded = serialization.load_pem_private_key(
        box.decrypt(stored.private_key_encrypted).encode("ascii"), password=None
    )
    if not isinstance(loaded, Ed25519PrivateKey):
        raise RuntimeError("the stored licence issuer key is not an Ed25519 key")
    return loaded


def _make_issuer_key(session: Session, box: SecretBox) -> IssuerKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    made = IssuerKey(
        id=ISSUER_KEY_ID,
        private_key_encrypted=box.encrypt(pem),
        public_key_pem=public_key_pem(key).decode("ascii"),
    )
    try:
        with session.begin_nested():
            session.add(made)
    except IntegrityError:  # another process made it at the same moment: use theirs
        theirs = session.get(IssuerKey, ISSUER_KEY_ID)
        if theirs is None:
            raise
        return theirs
    return made


def public_key(session: Session, box: SecretBox) -> str:
    """The issuer's public key (PEM), which every gateway's settings name as issuer_key."""
    return public_key_pem(issuer_key(session, box)).decode("ascii")


def new_serial(now: dt.datetime) -> str:
    return f"GW{now:%Y%m%d}-" + "".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(8))


def issue_licence(
    session: Session,
    box: SecretBox,
    device: Device,
    *,
    channels: int,
    days: int,
    not_before: dt.datetime | None = None,
    actor: str,
) -> GatewayLicence:
    """Sign and store a licence for a gateway bound to a tenant."""
    tenant = bound_tenant(device)
    reason = tenants.refusal(tenant)
    if reason:
        raise Conflict(reason)
    if channels not in CHANNEL_TIERS:
        tiers = ", ".join(map(str, CHANNEL_TIERS))
        raise Invalid(f"channels must be one of {tiers}, not {channels}")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be 1 to {MAX_DAYS}, not {days}")
    now = utcnow()
    start = not_before or now
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)  # a bare time is UTC
    start = start.astimezone(dt.UTC).replace(microsecond=0)
    terms = Licence(
        serial=new_serial(now),
        tenant=tenant.name,
        gateway=device.mac,
        channels=channels,
        not_before=start,
        expires=start + dt.timedelta(days=days),
    )
    try:
        document = issue(terms, issuer_key(session, box)).decode("utf-8")
    except LicenceError as exc:  # e.g. a tenant name the licence format cannot hold
        raise Invalid(str(exc)) from exc
    licence = GatewayLicence(
        serial=terms.serial,
        device=device,
        tenant=tenant,
        channels=channels,
        not_before=terms.not_before,
        expires=terms.expires,
        document=document,
        issued_at=now,
        issued_by=actor[:100],
    )
    session.add(licence)
    detail = (
        f"licence {terms.serial}: {channels} channels, {start:%Y-%m-%d} to {terms.expires:%Y-%m-%d}"
    )
    session.add(
        DeviceEvent(device=device, kind=EventKind.LICENCE, actor=actor[:100], detail=detail)
    )
    session.flush()
    return licence


def list_licences(session: Session, device: Device | None = None) -> list[GatewayLicence]:
    query = select(GatewayLicence).options(
        joinedload(GatewayLicence.device), joinedload(GatewayLicence.tenant)
    )
    if device is not None:
        query = query.where(GatewayLicence.device_id == device.id)
    return list(session.scalars(query.order_by(GatewayLicence.issued_at, GatewayLicence.id)))


def get_licence(session: Session, serial: str) -> GatewayLicence:
    licence = session.scalar(
        select(GatewayLicence)
        .where(GatewayLicence.serial == serial.strip().upper())
        .options(joinedload(GatewayLicence.device), joinedload(GatewayLicence.tenant))
    )
    if licence is None:
        raise NotFound(f"no licence with serial {serial!r}")
    return licence


def current_licence(session: Session, device: Device, now: dt.datetime | None = None) -> str:
    """The signed document the gateway should hold now: of the licences in force, the one that
    runs longest; before any is in force, the newest issued."""
    licences = list_licences(session, device)
    if not licences:
        raise Conflict(
            f"gateway {device.mac} has no licence: issue one with "
            f"'provisioner licence issue {device.mac} --channels N --days N'"
        )
    moment = now or utcnow()
    in_force = [lic for lic in licences if _utc(lic.not_before) <= moment < _utc(lic.expires)]
    chosen = max(in_force, key=lambda lic: _utc(lic.expires)) if in_force else licences[-1]
    return chosen.document


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive times; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
