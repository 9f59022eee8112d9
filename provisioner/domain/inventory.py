"""Read side of the inventory: a device as its vendor module sees it, and its timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from provisioner.db.models import Account, Device, DeviceEvent, DeviceLine
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import find_model
from provisioner.vendors.base import DeviceView, FaxMode, LineView, ProvisioningContext


def provisioning_context(settings: Settings) -> ProvisioningContext:
    return ProvisioningContext(
        pbx_host=settings.pbx_host,
        pbx_port=settings.pbx_port,
        http_base=settings.http_base.rstrip("/"),
        tftp_host=settings.tftp_host,
        ntp_server=settings.ntp_server,
        registration_expiry=settings.registration_expiry,
    )


def load_device(session: Session, mac: str) -> Device | None:
    """The device with its tenant, lines and accounts, in one round of queries."""
    return session.scalar(
        select(Device)
        .where(Device.mac == mac)
        .options(
            joinedload(Device.tenant),
            joinedload(Device.caller_id_number),
            selectinload(Device.lines).joinedload(DeviceLine.account).joinedload(Account.tenant),
        )
    )


def device_view(device: Device, box: SecretBox) -> DeviceView:
    """Plain data for the renderer, secrets decrypted."""
    model = find_model(device.model)
    if model is None:
        raise LookupError(f"device {device.mac} has model {device.model}, which is not supported")
    lines = tuple(
        LineView(
            port=line.port,
            extension=line.account.extension,
            direct_number=line.account.direct_number,
            display_name=line.account.display_name,
            sip_username=line.account.sip_username,
            sip_password=box.decrypt(line.account.sip_password_encrypted),
            fax_mode=FaxMode(line.fax_mode) if line.fax_mode else None,
        )
        for line in device.lines
    )
    if device.caller_id_number is not None:
        caller_id = device.caller_id_number.number
    else:
        caller_id = lines[0].direct_number if lines else None
    return DeviceView(
        mac=device.mac,
        model=model,
        admin_password=box.decrypt(device.admin_password_encrypted),
        lines=lines,
        caller_id=caller_id,
        tenant=device.tenant.name if device.tenant else None,
    )


def timeline(session: Session, device: Device, limit: int = 50) -> list[DeviceEvent]:
    """The newest events of a device, newest first."""
    return list(
        session.scalars(
            select(DeviceEvent)
            .where(DeviceEvent.device_id == device.id)
            .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
            .limit(limit)
        )
    )
