"""Ported numbers (DIDs) per gateway and where their calls go on the PBX core.

A DID belongs to one gateway; its destination is an extension or a representative number of
the gateway's tenant, checked when the mapping is made.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.gateways import GatewayNumber
from provisioner.db.models import Account, Device, RepresentativeNumber, Tenant
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.gateways.devices import bound_tenant
from provisioner.domain.inventory import tenants
from provisioner.domain.inventory.accounts import EXTENSION_PATTERN
from provisioner.domain.inventory.patterns import phone_number

MAX_NUMBERS = 1000  # per gateway: far above what 32 channels carry


def list_numbers(session: Session, device: Device) -> list[GatewayNumber]:
    return list(
        session.scalars(
            select(GatewayNumber)
            .where(GatewayNumber.device_id == device.id)
            .order_by(GatewayNumber.did)
        )
    )


def check_destination(session: Session, tenant: Tenant, text: str) -> str:
    """An extension of the tenant or one of its representative numbers, as the core dials it."""
    if re.fullmatch(EXTENSION_PATTERN, text):
        found = session.scalar(
            select(Account.id).where(Account.tenant_id == tenant.id, Account.extension == text)
        )
        if found is None:
            raise Conflict(f"{tenant.name} has no extension {text}")
        return text
    number = phone_number(text, "destination")
    if number is None:
        raise Invalid("a destination is an extension (4 digits) or a representative number")
    held = session.scalar(
        select(RepresentativeNumber.id).where(
            RepresentativeNumber.tenant_id == tenant.id, RepresentativeNumber.number == number
        )
    )
    if held is None:
        raise Conflict(
            f"{number} is not a representative number of {tenant.name}: "
            "point the DID at an extension or one of the tenant's representative numbers"
        )
    return number


def map_number(session: Session, device: Device, did_text: str, destination: str) -> GatewayNumber:
    """Map a DID to a destination (or move its destination); one gateway per DID."""
    tenant = bound_tenant(device)
    did = phone_number(did_text, "did")
    if did is None:
        raise Invalid("a DID needs digits")
    reason = tenants.refusal(tenant, direct_number=did)  # a ported number is a direct number
    if reason:
        raise Conflict(reason)
    target = check_destination(session, tenant, destination.strip())
    existing = session.scalar(select(GatewayNumber).where(GatewayNumber.did == did))
    if existing is not None and existing.device_id != device.id:
        raise Conflict(
            f"DID {did} is on gateway {existing.device.mac} already: unmap it there first"
        )
    if existing is None:
        if len(list_numbers(session, device)) >= MAX_NUMBERS:
            raise Conflict(f"gateway {device.mac} holds {MAX_NUMBERS} numbers already")
        existing = GatewayNumber(device=device, did=did)
        session.add(existing)
    existing.destination = target
    session.flush()
    return existing


def unmap_number(session: Session, device: Device, did_text: str) -> None:
    did = phone_number(did_text, "did")
    found = session.scalar(
        select(GatewayNumber).where(GatewayNumber.device_id == device.id, GatewayNumber.did == did)
    )
    if found is None:
        raise NotFound(f"gateway {device.mac} has no DID {did_text}")
    session.delete(found)
    session.flush()
