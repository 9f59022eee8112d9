"""Representative numbers: one number shared by several accounts' devices.

A tenant needs at least two IDs (accounts: its basic ID and an additional one) to hold one,
holds at most as many as it has accounts, and at most three; the provisioning sheet and the
admin API both ask :func:`over_limit`. A representative number carries at most as many
simultaneous calls as the tenant has IDs (the PBX core counts them).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceLine, RepresentativeNumber, Tenant
from provisioner.domain.errors import Conflict, Invalid, get_by_id
from provisioner.domain.inventory import tenants
from provisioner.domain.inventory.patterns import phone_number

MAX_REPRESENTATIVE_NUMBERS = 3
MIN_IDS = 2  # the 03plus guide: a tenant with only its basic ID has no representative number


def over_limit(tenant_name: str, held: int, accounts: int) -> str | None:
    """Why a tenant with ``accounts`` accounts may not hold ``held`` numbers, or None."""
    if held and accounts < MIN_IDS:
        return (
            f"{tenant_name} has {accounts} ID(s): a representative number needs at least "
            f"{MIN_IDS} (the basic ID and an additional one)"
        )
    if held > MAX_REPRESENTATIVE_NUMBERS:
        return f"{tenant_name} would hold more than {MAX_REPRESENTATIVE_NUMBERS}"
    if held > accounts:
        return f"{tenant_name} would hold more than its {accounts} account(s)"
    return None


def rings_for_representative(device: Device, line: DeviceLine) -> bool:
    """Whether a call to the tenant's representative numbers rings this line (or FXS port).

    Set per line (sheet column ``ring_representative``, the API's line objects); unset, a line
    rings unless it is a FAX port (an HT802 port in T.38 or pass-through mode answering a
    representative call with fax tones) or its device was switched off as a whole.
    """
    if line.ring_representative is not None:
        return line.ring_representative
    return device.ring_representative and line.fax_mode is None


def holders(session: Session) -> list[str]:
    """The names of the tenants that hold a representative number (for the call metrics)."""
    return list(
        session.scalars(
            select(Tenant.name).join(RepresentativeNumber).distinct().order_by(Tenant.name)
        )
    )


def get_representative(session: Session, number_id: int) -> RepresentativeNumber:
    return get_by_id(session, RepresentativeNumber, number_id, "representative number")


def add_representative(session: Session, tenant: Tenant, text: str) -> RepresentativeNumber:
    number = phone_number(text, "representative number")
    if number is None:
        raise Invalid("a representative number needs digits")
    reason = tenants.refusal(tenant)
    if reason:
        raise Conflict(reason)
    holder = session.scalar(
        select(RepresentativeNumber).where(RepresentativeNumber.number == number)
    )
    if holder is not None:
        whose = "this tenant" if holder.tenant_id == tenant.id else "another tenant"
        raise Conflict(f"representative number {number} is held by {whose} already")
    reason = over_limit(tenant.name, len(tenant.representative_numbers) + 1, len(tenant.accounts))
    if reason:
        raise Conflict(
            f"representative number {number}: {reason}; remove one first, or add accounts"
        )
    added = RepresentativeNumber(tenant=tenant, number=number)
    session.add(added)
    session.flush()
    return added


def remove_representative(session: Session, number: RepresentativeNumber) -> None:
    """Remove a number no device presents as its caller ID."""
    presenting = session.scalars(
        select(Device.mac).where(Device.caller_id_number_id == number.id).order_by(Device.mac)
    ).all()
    if presenting:
        raise Conflict(
            f"representative number {number.number} is the caller ID of device(s) "
            f"{', '.join(presenting)}: set their caller ID to 'direct' first"
        )
    session.delete(number)
    session.flush()
