"""A provisioner inventory with gateways in it, made through the domain as an operator would."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from provisioner.db.models import Tenant, TenantStatus
from provisioner.domain.gateways import licences
from provisioner.domain.gateways import numbers as number_map
from provisioner.domain.gateways.devices import set_profile
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.secretbox import SecretBox
from provisioner.vendors import gateway32


@dataclass(frozen=True)
class Gateway:
    mac: str
    tenant: str
    http_user: str
    http_password: str
    dids: tuple[str, ...]


def tenant_named(session: Session, name: str) -> Tenant:
    found = tenants.list_tenants(session, name=name)
    return found[0] if found else tenants.create_tenant(session, name, TenantStatus.ACTIVE, [])


def add_gateway(
    session: Session,
    box: SecretBox,
    mac: str,
    tenant: Tenant,
    numbers: dict[str, str],
    *,
    trunk: str = "127.0.0.1:5070",
    cores: tuple[str, ...] = ("127.0.0.1:5080",),
    channels: int = 4,
) -> Gateway:
    """A bound gateway with a trunk, its DIDs and a licence in force."""
    device = devices.create_device(session, box, mac=mac, model=gateway32.MODEL)
    devices.act(session, box, device, Action.BIND, actor="test", tenant=tenant)
    set_profile(session, device, trunk=trunk, cores=list(cores))
    for did, destination in numbers.items():
        number_map.map_number(session, device, did, destination)
    licences.issue_licence(session, box, device, channels=channels, days=30, actor="test")
    creds = devices.credentials(box, device)
    assert creds.http_user
    assert creds.http_password
    return Gateway(device.mac, tenant.name, creds.http_user, creds.http_password, tuple(numbers))
