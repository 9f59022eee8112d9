"""What the PBX core must know, taken from the inventory: who may register, which number rings whom.

Subscribers carry HA1 digests, never the password (Kamailio's auth_db checks Digest against
``ha1`` = MD5(user:realm:password), and ``ha1b`` = MD5(user@realm:realm:password) for phones
that send a domain in their username). Aliases turn a dialled number into SIP usernames:
direct numbers, representative numbers (every account on a device that rings for it) and the
gateways' ported numbers in one global domain; extensions in a domain per tenant (the MD5 of
its name, which the core's config computes from the caller's tenant the same way).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.gateways import GatewayNumber
from provisioner.db.models import (
    Account,
    Device,
    DeviceLine,
    RepresentativeNumber,
    Tenant,
    TenantStatus,
)
from provisioner.domain.inventory.representatives import rings_for_representative
from provisioner.secretbox import SecretBox
from provisioner.vendors.base import DeviceKind

GLOBAL_DOMAIN = "g"
# Suspended and cancelled tenants' phones cannot register.
SERVED = (TenantStatus.ACTIVE, TenantStatus.TRIAL)


@dataclass(frozen=True)
class Subscriber:
    username: str
    domain: str
    ha1: str
    ha1b: str
    tenant: str
    extension: str  # the From user the core presents for it (the gateway maps it to a DID)
    # The number its calls out present, as the customer chose per phone: the representative
    # number the phone was set to, else the account's direct number; "" for neither (the
    # gateway then shows the tenant's default). The core asserts it to the gateway.
    caller_id: str
    # The MACs of the inventory's phones and ATAs that carry the account, as a regular
    # expression ("000b82bb0001|0080f0000001"): a REGISTER whose User-Agent or Contact names one
    # of them comes from a desk phone, which rings first (docs/architecture.md, 'Desk phone first')
    desk_macs: str


@dataclass(frozen=True)
class Alias:
    alias_username: str
    alias_domain: str
    username: str
    domain: str


@dataclass(frozen=True)
class Representative:
    """A representative number and how many calls it may carry at once: the tenant's IDs."""

    number: str
    tenant: str
    max_calls: int


@dataclass(frozen=True)
class Directory:
    subscribers: tuple[Subscriber, ...]
    aliases: tuple[Alias, ...]
    representatives: tuple[Representative, ...] = ()


def _md5(text: str) -> str:
    # MD5 because SIP Digest (RFC 2617) and Kamailio's {s.md5} use it.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def tenant_domain(tenant_name: str) -> str:
    """The alias domain of a tenant's extensions; the core computes it as $(avp(tenant){s.md5})."""
    return _md5(tenant_name)


def build_directory(session: Session, box: SecretBox, realm: str) -> Directory:
    """Every served account as a subscriber, and every number that reaches one as an alias."""
    rows = session.execute(
        select(Account, Tenant.name)
        .join(Tenant, Tenant.id == Account.tenant_id)
        .where(Tenant.status.in_(SERVED))
        .order_by(Account.sip_username)
    ).all()
    subscribers = []
    aliases: list[Alias] = []
    users_of: dict[int, str] = {}
    representative_choice = _representative_choice(session)
    desk_macs = _desk_macs(session)
    for account, tenant_name in rows:
        password = box.decrypt(account.sip_password_encrypted)
        user = account.sip_username
        users_of[account.id] = user
        subscribers.append(
            Subscriber(
                username=user,
                domain=realm,
                ha1=_md5(f"{user}:{realm}:{password}"),
                ha1b=_md5(f"{user}@{realm}:{realm}:{password}"),
                tenant=tenant_name,
                extension=account.extension,
                caller_id=representative_choice.get(account.id) or account.direct_number or "",
                desk_macs="|".join(desk_macs.get(account.id, [])),
            )
        )
        aliases.append(Alias(account.extension, tenant_domain(tenant_name), user, realm))
        if account.direct_number:
            aliases.append(Alias(account.direct_number, GLOBAL_DOMAIN, user, realm))
    ringing = _representative_ringing(session, users_of)
    for number, users in ringing.items():
        aliases.extend(Alias(number, GLOBAL_DOMAIN, user, realm) for user in users)
    aliases.extend(_ported(session, users_of, ringing, realm))
    return Directory(tuple(subscribers), tuple(aliases), _representatives(session))


def _representatives(session: Session) -> tuple[Representative, ...]:
    """Each served tenant's representative numbers, capped at its ID (account) count."""
    found: list[Representative] = []
    for tenant in session.scalars(select(Tenant).where(Tenant.status.in_(SERVED))):
        found.extend(
            Representative(rep.number, tenant.name, len(tenant.accounts))
            for rep in tenant.representative_numbers
        )
    return tuple(sorted(found, key=lambda rep: rep.number))


def _desk_macs(session: Session) -> dict[int, list[str]]:
    """Account -> the MACs (12 lower-case hex digits) of the desk phones and ATAs carrying it."""
    rows = session.execute(
        select(DeviceLine.account_id, Device.mac)
        .join(Device, Device.id == DeviceLine.device_id)
        .where(Device.kind != DeviceKind.GATEWAY)
        .order_by(Device.mac)
    ).all()
    found: dict[int, list[str]] = {}
    for account_id, mac in rows:
        if mac not in found.setdefault(account_id, []):
            found[account_id].append(mac)
    return found


def _representative_choice(session: Session) -> dict[int, str]:
    """Account -> the representative number a phone carrying it was set to present."""
    rows = session.execute(
        select(DeviceLine.account_id, RepresentativeNumber.number)
        .join(Device, Device.id == DeviceLine.device_id)
        .join(RepresentativeNumber, RepresentativeNumber.id == Device.caller_id_number_id)
        .order_by(Device.mac)
    ).all()
    chosen: dict[int, str] = {}
    for account_id, number in rows:
        chosen.setdefault(account_id, number)
    return chosen


def _representative_ringing(session: Session, users_of: dict[int, str]) -> dict[str, list[str]]:
    """Representative number -> the usernames on the tenant's devices that ring for it."""
    rows = session.execute(
        select(Device, DeviceLine)
        .join(DeviceLine, DeviceLine.device_id == Device.id)
        .where(Device.tenant_id.is_not(None))
        .order_by(Device.mac, DeviceLine.port)
    ).all()
    by_tenant: dict[int, list[str]] = {}
    for device, line in rows:
        if not rings_for_representative(device, line):
            continue
        tenant_id = device.tenant_id
        assert tenant_id is not None  # the query's condition
        user = users_of.get(line.account_id)
        if user is not None and user not in by_tenant.setdefault(tenant_id, []):
            by_tenant[tenant_id].append(user)
    ringing: dict[str, list[str]] = {}
    for tenant in session.scalars(select(Tenant).where(Tenant.status.in_(SERVED))):
        for rep in tenant.representative_numbers:
            ringing[rep.number] = by_tenant.get(tenant.id, [])
    return ringing


def _ported(
    session: Session, users_of: dict[int, str], ringing: dict[str, list[str]], realm: str
) -> list[Alias]:
    """Each gateway's DID -> the usernames its destination reaches."""
    rows = session.execute(
        select(GatewayNumber.did, GatewayNumber.destination, Device.tenant_id)
        .join(Device, Device.id == GatewayNumber.device_id)
        .order_by(GatewayNumber.did)
    ).all()
    # Keyed like the lookup below, whose tenant is None for a gateway no tenant owns yet.
    extensions: dict[tuple[int | None, str], int] = {
        (tenant_id, extension): account_id
        for account_id, tenant_id, extension in session.execute(
            select(Account.id, Account.tenant_id, Account.extension)
        )
    }
    aliases: list[Alias] = []
    for did, destination, tenant_id in rows:
        account_id = extensions.get((tenant_id, destination))
        if account_id is not None and account_id in users_of:
            users = [users_of[account_id]]
        else:
            users = ringing.get(destination, [])
        aliases.extend(Alias(did, GLOBAL_DOMAIN, user, realm) for user in users)
    return aliases
