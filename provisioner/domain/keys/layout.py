"""Programmable keys of a device: set by position, or a default layout per model.

A device with no keys of its own gets the default layout of its model: its lines on the first
keys that can be lines, then BLF keys for the tenant's other extensions, in extension order,
on the phone's own keys (never on an expansion module). What a key may be, and how many a model
has, is its vendor module's ``key_layout``; a key is refused by name past the model (and its
modules) or of a kind its key cannot be. A BLF key watches an extension of the device's own
tenant; park and pickup keys dial the tenant's feature codes (``Tenant.park_code``,
``Tenant.pickup_code``, settable per tenant), a pickup key followed by the extension it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from provisioner.db.models import Account, Device, DeviceLine, Tenant
from provisioner.db.settings import DeviceKey
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.vendors import FILELESS_MODELS, find_model, vendor
from provisioner.vendors.base import KeyLayout, KeyType, KeyView, ModelInfo

_DIALABLE = re.compile(r"[0-9*#+]{1,24}")
_CODE = re.compile(r"[0-9*#]{1,8}")
LABEL_LENGTH = 32


@dataclass(frozen=True)
class KeyIn:
    """A key as a caller sets it: ``value`` is the line number, the watched extension, the
    number to dial or the DTMF digits; for park an optional slot, for pickup an optional
    extension."""

    position: int
    type: str
    value: str = ""
    label: str = ""


@dataclass(frozen=True)
class Keys:
    """A device's keys as its file gets them."""

    keys: tuple[KeyView, ...]
    expansion_modules: int
    default: bool  # True: the model's default layout, none set for the device


def layout_of(model: ModelInfo) -> KeyLayout:
    """The model's keys; a gateway has none."""
    if model in FILELESS_MODELS:
        return KeyLayout()
    return vendor(model.vendor).key_layout(model)


def _model(device: Device) -> ModelInfo:
    model = find_model(device.model)
    if model is None:
        raise Conflict(f"device {device.mac} is a {device.model}, which is not supported")
    return model


def check_feature_code(name: str, code: str) -> str:
    if not _CODE.fullmatch(code):
        raise Invalid(f"{name}: {code!r} must be 1-8 of the characters 0-9 * #")
    return code


def _check_key(
    key: KeyIn, model: ModelInfo, modules: int, extensions: set[str], lines: int
) -> DeviceKey:
    """The row for ``key``, or Invalid naming the key and what to change."""
    where = f"key {key.position}"
    try:
        kind = KeyType(key.type)
    except ValueError:
        kinds = ", ".join(kind.value for kind in KeyType)
        raise Invalid(f"{where}: unknown type {key.type!r}; types: {kinds}") from None
    layout = layout_of(model)
    total = layout.positions(modules)
    if not 1 <= key.position <= total:
        with_modules = f" with {modules} expansion module(s)" if layout.module else ""
        raise Invalid(f"{where}: the {model.model}{with_modules} has keys 1-{total}")
    found = layout.bank_at(key.position)
    assert found is not None  # within positions()
    bank = found[0]
    if kind not in bank.types:
        kinds = ", ".join(sorted(t.value for t in bank.types))
        raise Invalid(f"{where} is a {bank.name} of the {model.model}: it takes {kinds}")
    if len(key.label) > LABEL_LENGTH:
        raise Invalid(f"{where}: the label is longer than {LABEL_LENGTH} characters")
    value = key.value.strip()
    if kind is KeyType.LINE and value not in {str(n) for n in range(1, lines + 1)}:
        raise Invalid(f"{where}: a line key names a line of the {model.model}, 1-{lines}")
    if kind is KeyType.BLF and value not in extensions:
        raise Invalid(f"{where}: {value!r} is not an extension of the device's tenant")
    if kind is KeyType.PICKUP and value and value not in extensions:
        raise Invalid(f"{where}: pickup names an extension of the device's tenant, or nothing")
    if kind in (KeyType.SPEED_DIAL, KeyType.DTMF) and not _DIALABLE.fullmatch(value):
        raise Invalid(f"{where}: {value!r} must be 1-24 of the characters 0-9 * # +")
    if kind is KeyType.PARK and value and not value.isdigit():
        raise Invalid(f"{where}: a park slot is digits, or nothing (the park code alone)")
    if kind is KeyType.NONE:
        value = ""
    return DeviceKey(position=key.position, type=kind.value, value=value, label=key.label)


def _extensions(session: Session, tenant_id: int | None) -> set[str]:
    if tenant_id is None:
        return set()
    return set(session.scalars(select(Account.extension).where(Account.tenant_id == tenant_id)))


def _touch(session: Session, device: Device) -> None:
    session.info.setdefault("touched_devices", set()).add(device.id)


def _configurable(device: Device) -> ModelInfo:
    if device.tenant_id is None:
        raise Conflict(f"device {device.mac} is {device.state}: bind it to a tenant first")
    return _model(device)


def set_keys(session: Session, device: Device, modules: int, keys: list[KeyIn]) -> None:
    """Replace the device's keys and its expansion module count, all or nothing."""
    model = _configurable(device)
    layout = layout_of(model)
    if not 0 <= modules <= layout.max_modules:
        module = layout.module.name if layout.module else "expansion module"
        raise Invalid(f"the {model.model} takes 0-{layout.max_modules} {module}s")
    positions = [key.position for key in keys]
    if len(positions) != len(set(positions)):
        raise Invalid("a position is given twice")
    extensions = _extensions(session, device.tenant_id)
    rows = [_check_key(key, model, modules, extensions, model.lines) for key in keys]
    _delete_all(session, device)
    session.flush()  # the old keys go before the new ones, which may take their positions
    for row in rows:
        row.device_id = device.id
        session.add(row)
    device.expansion_modules = modules
    _touch(session, device)


def set_key(session: Session, device: Device, key: KeyIn) -> None:
    """Set one key; the device's other keys stay (a device on its default layout gets only
    this key, the default is not copied)."""
    model = _configurable(device)
    extensions = _extensions(session, device.tenant_id)
    row = _check_key(key, model, device.expansion_modules, extensions, model.lines)
    existing = _key_at(session, device, key.position)
    if existing is None:
        row.device_id = device.id
        session.add(row)
    else:  # in place: a new row would be INSERTed before the old one is DELETEd
        existing.type, existing.value, existing.label = row.type, row.value, row.label
    _touch(session, device)


# Keys are changed through the ORM, never by bulk statements, so that the history records them.
def _key_at(session: Session, device: Device, position: int) -> DeviceKey | None:
    here = (DeviceKey.device_id == device.id) & (DeviceKey.position == position)
    return session.scalar(select(DeviceKey).where(here))


def _delete_all(session: Session, device: Device) -> None:
    for row in session.scalars(select(DeviceKey).where(DeviceKey.device_id == device.id)):
        session.delete(row)


def clear_key(session: Session, device: Device, position: int) -> None:
    row = _key_at(session, device, position)
    if row is None:
        raise NotFound(f"device {device.mac} has no key of its own at position {position}")
    session.delete(row)
    _touch(session, device)


def clear_keys(session: Session, device: Device) -> None:
    """Back to the model's default layout."""
    _delete_all(session, device)
    device.expansion_modules = 0
    _touch(session, device)


def set_feature_codes(session: Session, tenant: Tenant, park: str, pickup: str) -> None:
    """The codes the tenant's park and pickup keys dial; every device of the tenant is told."""
    tenant.park_code = check_feature_code("park_code", park)
    tenant.pickup_code = check_feature_code("pickup_code", pickup)
    devices = session.scalars(select(Device.id).where(Device.tenant_id == tenant.id))
    session.info.setdefault("touched_devices", set()).update(devices)


def _default(
    db: Connection | Session, model: ModelInfo, device_id: int, tenant_id: int
) -> tuple[KeyView, ...]:
    """Lines first, then BLF for the tenant's other extensions, on the phone's own keys."""
    layout = layout_of(model)
    ports = list(
        db.execute(
            select(DeviceLine.port, Account.extension)
            .join(Account, Account.id == DeviceLine.account_id)
            .where(DeviceLine.device_id == device_id)
            .order_by(DeviceLine.port)
        ).all()
    )
    own = {extension for _, extension in ports}
    others = [
        (extension, name)
        for extension, name in db.execute(
            select(Account.extension, Account.display_name)
            .where(Account.tenant_id == tenant_id)
            .order_by(Account.extension)
        ).all()
        if extension not in own
    ]
    keys: list[KeyView] = []
    position = 1
    for port, extension in ports:
        while position <= layout.phone_keys() and not _takes(layout, position, KeyType.LINE):
            position += 1
        if position > layout.phone_keys():
            break
        keys.append(KeyView(position, KeyType.LINE, str(port), extension))
        position += 1
    for extension, name in others:
        while position <= layout.phone_keys() and not _takes(layout, position, KeyType.BLF):
            position += 1
        if position > layout.phone_keys():
            break
        keys.append(KeyView(position, KeyType.BLF, extension, name[:LABEL_LENGTH]))
        position += 1
    return tuple(keys)


def _takes(layout: KeyLayout, position: int, kind: KeyType) -> bool:
    found = layout.bank_at(position)
    return found is not None and kind in found[0].types


def device_keys(
    db: Connection | Session, device_id: int, tenant_id: int | None, model: ModelInfo
) -> Keys:
    """The keys a device's file gets: its own (with the tenant's feature codes filled in), or
    the default layout; none before it is bound to a tenant."""
    if tenant_id is None:
        return Keys((), 0, True)
    modules = db.execute(select(Device.expansion_modules).where(Device.id == device_id)).scalar()
    rows = db.execute(
        select(DeviceKey.position, DeviceKey.type, DeviceKey.value, DeviceKey.label)
        .where(DeviceKey.device_id == device_id)
        .order_by(DeviceKey.position)
    ).all()
    if not rows:
        return Keys(_default(db, model, device_id, tenant_id), 0, True)
    park, pickup = db.execute(
        select(Tenant.park_code, Tenant.pickup_code).where(Tenant.id == tenant_id)
    ).one()
    keys = []
    for position, kind_text, value, label in rows:
        kind = KeyType(kind_text)
        if kind is KeyType.PARK:
            value = park + value
        elif kind is KeyType.PICKUP:
            value = pickup + value
        keys.append(KeyView(position, kind, value, label))
    return Keys(tuple(keys), modules or 0, False)
