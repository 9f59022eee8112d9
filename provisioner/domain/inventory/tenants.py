"""Tenants: the customer companies, their status, and the networks their devices use.

The status rules here apply to every way accounts and devices reach a tenant: the provisioning
sheet and the admin API alike.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from provisioner.db.models import Tenant, TenantStatus
from provisioner.domain.errors import Conflict, Invalid, NotFound, get_by_id
from provisioner.domain.inventory.patterns import is_name

MAX_NETWORKS = 64
# The widest network a tenant may name: its devices' first fetch is claimed from these, so a
# network of half the internet (0.0.0.0/0, ::/0) would let anyone claim a shipped device.
# A /8 still takes a private 10.0.0.0/8; an IPv6 /32 is a whole provider's allocation.
WIDEST_PREFIX = {4: 8, 6: 32}
_LOADS = (selectinload(Tenant.accounts), selectinload(Tenant.representative_numbers))


def check_name(name: str) -> str:
    if not is_name(name):
        raise Invalid(
            "a tenant name is 1 to 100 characters, without control characters, line breaks, "
            "bidi overrides or zero-width characters, and without spaces at either end"
        )
    return name


def check_networks(networks: list[str]) -> list[str]:
    """CIDRs in canonical form, each once; a host address alone counts as /32 or /128; none
    wider than ``WIDEST_PREFIX``."""
    if len(networks) > MAX_NETWORKS:
        raise Invalid(f"at most {MAX_NETWORKS} allowed networks; merge neighbouring ones")
    canonical: list[str] = []
    for text in networks:
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            raise Invalid(_network_advice(text)) from None
        widest = WIDEST_PREFIX[network.version]
        if network.prefixlen < widest:
            raise Invalid(
                f"allowed network {network} is too wide: at most a /{widest} for IPv"
                f"{network.version}; name the offices' own networks"
            )
        if str(network) not in canonical:
            canonical.append(str(network))
    return canonical


def _network_advice(text: str) -> str:
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return (
            f"allowed network {text!r} is not a network: write it in CIDR form, "
            "such as 192.0.2.0/24 or 2001:db8::/32"
        )
    return f"allowed network {text!r} has host bits set: write {loose}"


def refusal(tenant: Tenant, *, direct_number: str | None = None) -> str | None:
    """Why the tenant cannot take this account or device now, or None if it can."""
    if tenant.status in (TenantStatus.SUSPENDED, TenantStatus.CANCELLED):
        return f"tenant {tenant.name} is {tenant.status}"
    if tenant.status is TenantStatus.TRIAL and direct_number:
        return f"tenant {tenant.name} is on trial: no direct numbers during a trial"
    return None


def list_tenants(
    session: Session, *, status: TenantStatus | None = None, name: str | None = None
) -> list[Tenant]:
    query = select(Tenant).order_by(Tenant.id).options(*_LOADS)
    if status is not None:
        query = query.where(Tenant.status == status)
    if name is not None:
        query = query.where(Tenant.name == name)
    return list(session.scalars(query))


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    return get_by_id(session, Tenant, tenant_id, "tenant")


def tenant_id_named(session: Session, name: str, advice: str = "") -> int:
    """The id of the tenant called ``name``, for what names its tenant (``advice`` ends the
    refusal when there is none)."""
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == name))
    if tenant_id is None:
        raise NotFound(f"no tenant {name!r}{advice}")
    return tenant_id


def create_tenant(
    session: Session, name: str, status: TenantStatus, allowed_networks: list[str]
) -> Tenant:
    tenant = Tenant(
        name=_free_name(session, check_name(name)),
        status=status,
        allowed_networks=check_networks(allowed_networks),
        accounts=[],
        representative_numbers=[],
    )
    session.add(tenant)
    session.flush()
    return tenant


EXPIRY_RANGE = (60, 86400)  # seconds: Kamailio's min_expires up to a day


def set_registration_expiry(tenant: Tenant, seconds: int | None) -> None:
    """The expiry its phones' files ask for; None: the service's. The PBX core caps it at
    PROVISIONER_REGISTRATION_EXPIRY (its max_expires), so only a shorter one takes effect."""
    low, high = EXPIRY_RANGE
    if seconds is not None and not low <= seconds <= high:
        raise Invalid(f"registration expiry must be {low} to {high} seconds, not {seconds}")
    tenant.registration_expiry = seconds


def update_tenant(
    session: Session,
    tenant: Tenant,
    *,
    name: str | None = None,
    status: TenantStatus | None = None,
    allowed_networks: list[str] | None = None,
) -> Tenant:
    """Change what is given; None leaves a field as it is."""
    if name is not None and name != tenant.name:
        tenant.name = _free_name(session, check_name(name))
    if status is TenantStatus.TRIAL and tenant.status is not TenantStatus.TRIAL:
        numbered = sorted(a.extension for a in tenant.accounts if a.direct_number)
        if numbered:
            raise Conflict(
                f"tenant {tenant.name} has direct numbers on extension(s) "
                f"{', '.join(numbered)}: remove them before putting it on trial"
            )
    if status is not None:
        tenant.status = status
    if allowed_networks is not None:
        tenant.allowed_networks = check_networks(allowed_networks)
    session.flush()
    return tenant


def _free_name(session: Session, name: str) -> str:
    if session.scalar(select(Tenant.id).where(Tenant.name == name)) is not None:
        raise Conflict(f"a tenant named {name!r} exists already; choose another name")
    return name
