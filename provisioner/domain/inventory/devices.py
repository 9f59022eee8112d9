"""Devices in the inventory: adding them, their lines, caller ID and ringing, lifecycle actions.

The rules on ports and fax modes are the provisioning sheet's too. Lifecycle actions go through
:func:`provisioner.domain.inventory.lifecycle.apply`; :func:`act` adds what the lifecycle does not
know about tenants.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from provisioner.db.models import (
    Account,
    Device,
    DeviceLine,
    DeviceState,
    RepresentativeNumber,
    Tenant,
)
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory import lifecycle, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.domain.inventory.lookup import load_device
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.inventory.patterns import is_name, phone_number
from provisioner.secretbox import SecretBox, generate_secret
from provisioner.vendors import device_models, find_model
from provisioner.vendors.base import DeviceKind, FaxMode, ModelInfo

OWNERSHIPS = ("rental", "purchase")
# The forms normalize_mac accepts, unicast only (the low bit of the first octet clear).
_FIRST = "[0-9A-Fa-f][02468aceACE]"
_PAIR = "[0-9A-Fa-f]{2}"
MAC_PATTERN = rf"{_FIRST}(?:{_PAIR}){{5}}|{_FIRST}(?::{_PAIR}){{5}}|{_FIRST}(?:-{_PAIR}){{5}}"
DIRECT = "direct"  # caller ID: the direct number of the device's first line
ADMIN_PASSWORD_LENGTH = 16
REVISION_LENGTH = 20


@dataclass(frozen=True)
class Credentials:
    """What opens a device and its files: for an operator who has to, never in listings."""

    mac: str
    http_user: str | None
    http_password: str | None
    admin_password: str
    config_key: str | None


def check_model(name: str) -> ModelInfo:
    model = find_model(name)
    if model is None:
        known = ", ".join(m.model for m in device_models())
        raise Invalid(f"unknown model {name!r}; supported models: {known}")
    return model


def check_port(model: ModelInfo, port: int) -> int:
    unit = "FXS ports" if model.kind is DeviceKind.ATA else "lines"
    if not 1 <= port <= model.lines:
        raise Invalid(f"port {port} is beyond the {model.lines} {unit} of the {model.model}")
    return port


def fax_mode(model: ModelInfo, text: str) -> FaxMode | None:
    """The fax mode of an ATA port; empty means none."""
    if not text:
        return None
    if model.kind is not DeviceKind.ATA:
        raise Invalid(f"fax is for ATA ports; the {model.model} is a {model.kind}")
    try:
        return FaxMode(text.lower())
    except ValueError:
        raise Invalid(f"fax {text!r} must be 't38' or 'passthrough'") from None


def new_device(box: SecretBox, mac: str, model: ModelInfo) -> Device:
    """A device in stock, with its own generated admin password."""
    return Device(
        mac=mac,
        vendor=model.vendor,
        model=model.model,
        kind=model.kind.value,
        admin_password_encrypted=box.encrypt(generate_secret(ADMIN_PASSWORD_LENGTH)),
        state=DeviceState.IN_STOCK,
    )


def get_device(session: Session, mac_text: str) -> Device:
    """A device by its MAC in any accepted form, with tenant, lines and accounts loaded."""
    try:
        mac = normalize_mac(mac_text)
    except BadMac as exc:
        raise NotFound(str(exc)) from exc
    device = load_device(session, mac)
    if device is None:
        raise NotFound(f"no device {mac} in the inventory")
    return device


def list_devices(
    session: Session,
    *,
    tenant_id: int | None = None,
    state: DeviceState | None = None,
    model: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Device], int]:
    """One page of devices by MAC, and how many match in all."""
    query = select(Device)
    if tenant_id is not None:
        query = query.where(Device.tenant_id == tenant_id)
    if state is not None:
        query = query.where(Device.state == state)
    if model is not None:
        known = find_model(model)
        query = query.where(Device.model == (known.model if known else model))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(
        query.order_by(Device.mac)
        .limit(limit)
        .offset(offset)
        .options(
            joinedload(Device.tenant),
            joinedload(Device.caller_id_number),
            selectinload(Device.lines).joinedload(DeviceLine.account),
        )
    )
    return list(page.unique()), total or 0


def create_device(
    session: Session,
    box: SecretBox,
    *,
    mac: str,
    model: str,
    hardware_revision: str | None = None,
    ownership: str = "rental",
) -> Device:
    try:
        canonical = normalize_mac(mac)
    except BadMac as exc:
        raise Invalid(str(exc)) from exc
    info = check_model(model)
    existing = session.scalar(select(Device).where(Device.mac == canonical))
    if existing is not None:
        raise Conflict(
            f"device {canonical} is in the inventory already ({existing.model}, {existing.state})"
        )
    device = new_device(box, canonical, info)
    device.hardware_revision = _check_revision(hardware_revision or "")
    device.ownership = _check_ownership(ownership)
    session.add(device)
    session.flush()
    return device


def update_device(
    session: Session,
    device: Device,
    *,
    caller_id: str | None = None,
    ring_representative: bool | None = None,
    encrypt_config: bool | None = None,
    hardware_revision: str | None = None,
    ownership: str | None = None,
) -> Device:
    """Change what is given; None leaves a field as it is, an empty revision removes it.

    ``caller_id`` is ``direct`` (the first line's direct number) or one of the tenant's
    representative numbers.
    """
    if caller_id is not None:
        device.caller_id_number = _caller_id_number(device, caller_id)
    if ring_representative is not None:
        device.ring_representative = ring_representative
    if encrypt_config is not None:
        device.encrypt_config = encrypt_config
    if hardware_revision is not None:
        device.hardware_revision = _check_revision(hardware_revision)
    if ownership is not None:
        device.ownership = _check_ownership(ownership)
    session.flush()
    return device


def caller_id(device: Device) -> tuple[str, str | None]:
    """Which number the device presents: ("direct" | "representative", the number)."""
    if device.caller_id_number is not None:
        return "representative", device.caller_id_number.number
    return DIRECT, device.lines[0].account.direct_number if device.lines else None


def set_line(
    session: Session,
    device: Device,
    port: int,
    account: Account,
    fax: str = "",
    ring_representative: bool | None = None,
) -> Device:
    """Put an account of the device's tenant on a line key or FXS port; whether it rings for
    the tenant's representative numbers (None: unless it is a FAX port)."""
    tenant = _configurable_tenant(device)
    model = _model_of(device)
    check_port(model, port)
    mode = fax_mode(model, fax)
    if account.tenant_id != tenant.id:
        raise Conflict(
            f"account {account.id} (extension {account.extension}) belongs to tenant "
            f"{account.tenant.name}; device {device.mac} is bound to {tenant.name}"
        )
    # In place: replacing the row would INSERT before the old (device, port) row is DELETEd.
    line = next((ln for ln in device.lines if ln.port == port), None)
    if line is None:
        line = DeviceLine(port=port)
        device.lines.append(line)
        device.lines.sort(key=lambda ln: ln.port)
    line.account = account
    line.fax_mode = mode.value if mode else None
    line.ring_representative = ring_representative
    session.flush()
    return device


def set_line_ringing(
    session: Session, device: Device, port: int, ring_representative: bool | None
) -> Device:
    """Whether the account on ``port`` rings for the tenant's representative numbers (None:
    as the device says, unless it is a FAX port), leaving the account where it is."""
    _configurable_tenant(device)
    check_port(_model_of(device), port)
    line = next((ln for ln in device.lines if ln.port == port), None)
    if line is None:
        raise NotFound(f"device {device.mac} has no account on port {port}")
    line.ring_representative = ring_representative
    session.flush()
    return device


def clear_line(session: Session, device: Device, port: int) -> Device:
    _configurable_tenant(device)
    check_port(_model_of(device), port)
    line = next((ln for ln in device.lines if ln.port == port), None)
    if line is None:
        raise NotFound(f"device {device.mac} has no account on port {port}")
    device.lines.remove(line)
    session.flush()
    return device


def act(
    session: Session,
    box: SecretBox,
    device: Device,
    action: Action,
    actor: str,
    tenant: Tenant | None = None,
) -> Device:
    """A lifecycle action, refusing a bind the tenant's status or the device's lines forbid."""
    if action is Action.BIND:
        if tenant is None:
            raise Invalid(f"bind needs a tenant for device {device.mac}")
        reason = tenants.refusal(tenant)
        if reason:
            raise Conflict(reason)
        if device.tenant is not None and device.tenant.id != tenant.id:
            raise Conflict(
                f"device {device.mac} is bound to {device.tenant.name}, whose accounts are on "
                "its lines: unbind it first"
            )
    lifecycle.apply(session, box, device, action, actor, tenant)
    session.flush()
    return device


def credentials(box: SecretBox, device: Device) -> Credentials:
    def clear(token: str | None) -> str | None:
        return box.decrypt(token) if token else None

    return Credentials(
        mac=device.mac,
        http_user=device.http_user,
        http_password=clear(device.http_password_encrypted),
        admin_password=box.decrypt(device.admin_password_encrypted),
        config_key=clear(device.config_key_encrypted),
    )


def _configurable_tenant(device: Device) -> Tenant:
    if device.state is DeviceState.RETIRED:
        raise Conflict(f"device {device.mac} is retired: restock it before changing it")
    if device.tenant is None:
        raise Conflict(f"device {device.mac} is {device.state}: bind it to a tenant first")
    return device.tenant


def _model_of(device: Device) -> ModelInfo:
    model = find_model(device.model)
    if model is None:
        raise Conflict(f"device {device.mac} is a {device.model}, which is not supported")
    return model


def _caller_id_number(device: Device, text: str) -> RepresentativeNumber | None:
    if text == DIRECT:
        return None
    tenant = _configurable_tenant(device)
    number = phone_number(text, "caller_id")
    held = {rep.number: rep for rep in tenant.representative_numbers}
    if number not in held:
        choices = ", ".join(sorted(held)) or "none yet"
        raise Conflict(
            f"{text} is not a representative number of {tenant.name} (it holds: {choices}); "
            f"add it to the tenant first, or use '{DIRECT}'"
        )
    return held[number]


def _check_revision(text: str) -> str | None:
    if text and not is_name(text, REVISION_LENGTH):
        raise Invalid(
            f"hardware_revision is up to {REVISION_LENGTH} characters, without control "
            "characters or spaces at either end"
        )
    return text or None


def _check_ownership(ownership: str) -> str:
    if ownership not in OWNERSHIPS:
        raise Invalid(f"ownership {ownership!r} must be one of {', '.join(OWNERSHIPS)}")
    return ownership
