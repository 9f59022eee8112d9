"""Settings with inheritance: set at the tenant, model or device level, resolved per device.

The most specific level wins: device over model over tenant over the service default
(``provisioner.vendors.settings``). A value is checked against the catalogue when it is set,
and, where a model is known (model and device levels), against what that model can take (its
vendor module's ``setting_problem``): a device cannot be given a value its model would ignore.
A tenant-wide value reaches only the tenant's models that can take it; the others keep theirs,
and the device's effective view says so.

Raw vendor parameters are set per device, or per tenant and model; the vendor module refuses,
by name, what its catalogue for that model lacks and what the service owns.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, false, or_, select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, Tenant
from provisioner.db.settings import RawParameter, SettingValue
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.vendors import FILELESS_MODELS, find_model, vendor
from provisioner.vendors.base import ModelInfo, ProvisioningContext
from provisioner.vendors.settings import SETTINGS, effective

_Row = Any  # a row of tenant_id, model, device_id, name, value


class Level(enum.StrEnum):
    DEFAULT = "default"
    TENANT = "tenant"
    MODEL = "model"
    DEVICE = "device"


# Most specific last: a later level's value replaces an earlier one's.
_ORDER = (Level.TENANT, Level.MODEL, Level.DEVICE)


@dataclass(frozen=True)
class Scope:
    """Where a value is set: exactly one of a tenant, a model, a device."""

    level: Level
    tenant_id: int | None = None
    model: str | None = None
    device_id: int | None = None

    def where(self, table: type[SettingValue] | type[RawParameter]) -> ColumnElement[bool]:
        """Rows of ``table`` set at exactly this scope."""
        return (
            _is(table.tenant_id, self.tenant_id)
            & _is(table.model, self.model)
            & _is(table.device_id, self.device_id)
        )


def _is(column: Any, value: int | str | None) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.is_(None) if value is None else column == value
    return result


def model_named(name: str) -> ModelInfo:
    """The model a path names; NotFound for a name that is no model with a phone file."""
    model = find_model(name)
    if model is None or model in FILELESS_MODELS:
        raise NotFound(f"no phone model {name!r}")
    return model


def tenant_scope(tenant: Tenant) -> Scope:
    return Scope(Level.TENANT, tenant_id=tenant.id)


def model_scope(model: ModelInfo) -> Scope:
    return Scope(Level.MODEL, model=model.model)


def device_scope(device: Device) -> Scope:
    return Scope(Level.DEVICE, device_id=device.id)


@dataclass(frozen=True)
class Effective:
    """One setting as a device gets it: the value, the level it came from, whether it is
    written (False: the model cannot take it, or nobody set it and it has no default)."""

    name: str
    value: str | None
    source: Level
    written: bool
    note: str | None = None


def _model(name: str) -> ModelInfo:
    model = find_model(name)
    if model is None:
        raise Conflict(f"model {name} is not supported")
    if model in FILELESS_MODELS:
        raise Conflict(f"a {name} fetches no phone file: it has no settings")
    return model


def check_value(name: str, value: str, model: ModelInfo | None) -> str:
    """The value, or Invalid naming the setting and why."""
    setting = SETTINGS.get(name)
    if setting is None:
        raise NotFound(f"unknown setting {name!r}; settings: {', '.join(SETTINGS)}")
    problem = setting.problem(value)
    if problem is not None:
        raise Invalid(f"{name}: {value!r} {problem}")
    if model is not None:
        problem = vendor(model.vendor).setting_problem(model, name, value)
        if problem is not None:
            raise Invalid(f"{name}: {model.model} cannot take {value!r}: {problem}")
    return value


def _devices_of(session: Session, scope: Scope) -> Iterable[int]:
    """The devices whose files a change at ``scope`` may alter (told by resync NOTIFY)."""
    if scope.device_id is not None:
        return (scope.device_id,)
    query = select(Device.id)
    if scope.tenant_id is not None:
        query = query.where(Device.tenant_id == scope.tenant_id)
    if scope.model is not None:
        query = query.where(Device.model == scope.model)
    return session.scalars(query)


def _touch(session: Session, scope: Scope) -> None:
    session.info.setdefault("touched_devices", set()).update(_devices_of(session, scope))


def _upsert(
    session: Session,
    table: type[SettingValue] | type[RawParameter],
    scope: Scope,
    name: str,
    value: str,
) -> None:
    """Set ``name`` to ``value`` at exactly ``scope`` in ``table``; tell the devices reached."""
    row = session.scalar(select(table).where(scope.where(table), table.name == name))
    if not isinstance(row, SettingValue | RawParameter):
        session.add(table(tenant_id=scope.tenant_id, model=scope.model,
                          device_id=scope.device_id, name=name, value=value))  # fmt: skip
    else:
        row.value = value
    _touch(session, scope)


def _delete(
    session: Session, table: type[SettingValue] | type[RawParameter], scope: Scope, name: str
) -> None:
    """Remove ``name`` at exactly ``scope``; NotFound when it is not set there. Through the
    ORM (not a bulk statement), so that the history records it."""
    row = session.scalar(select(table).where(scope.where(table), table.name == name))
    if row is None:
        raise NotFound(f"{name} is not set at this {scope.level}")
    session.delete(row)
    _touch(session, scope)


def set_value(session: Session, scope: Scope, name: str, value: str) -> None:
    """Set ``name`` at ``scope`` (checked: see the module docstring)."""
    model = _model(scope.model) if scope.model else None
    if scope.device_id is not None:
        device = session.get(Device, scope.device_id)
        model = _model(device.model) if device else None
    check_value(name, value, model)
    _upsert(session, SettingValue, scope, name, value)


def clear_value(session: Session, scope: Scope, name: str) -> None:
    """Remove ``name`` at ``scope``: the next less specific level applies again."""
    if name not in SETTINGS:
        raise NotFound(f"unknown setting {name!r}; settings: {', '.join(SETTINGS)}")
    _delete(session, SettingValue, scope, name)


def values_at(session: Session, scope: Scope) -> dict[str, str]:
    rows = session.scalars(select(SettingValue).where(scope.where(SettingValue)))
    return {row.name: row.value for row in rows}


def _rows(
    db: Connection | Session,
    table: type[SettingValue] | type[RawParameter],
    device_id: int,
    tenant_id: int | None,
    model: str,
) -> list[_Row]:
    """The rows of ``table`` that reach a device: its own, its model's, its tenant's."""
    of_tenant = table.tenant_id == tenant_id if tenant_id is not None else false()
    if table is RawParameter:  # a tenant's raw parameters are per model
        reach = or_(table.device_id == device_id, of_tenant & (table.model == model))
    else:
        reach = or_(table.device_id == device_id, table.model == model, of_tenant)
    columns = (table.tenant_id, table.model, table.device_id, table.name, table.value)
    return list(db.execute(select(*columns).where(reach)).all())


def _level_of(row: _Row) -> Level:
    if row.device_id is not None:
        return Level.DEVICE
    if row.tenant_id is not None:
        return Level.TENANT
    return Level.MODEL


def _winners(
    rows: list[_Row],
) -> dict[str, tuple[str, Level]]:
    """{name: (value, level)} of the most specific level that sets each name."""
    found: dict[str, tuple[str, Level]] = {}
    for row in sorted(rows, key=lambda row: _ORDER.index(_level_of(row))):
        found[row.name] = (row.value, _level_of(row))
    return found


def _levels(
    db: Connection | Session, tenant_id: int | None, model: str, device_id: int
) -> dict[str, tuple[str, Level]]:
    return _winners(_rows(db, SettingValue, device_id, tenant_id, model))


def resolved(
    db: Connection | Session, device_id: int, tenant_id: int | None, model: str
) -> dict[str, str]:
    """The values set for a device, most specific level winning (defaults left out: the
    vendor module applies them, see ``provisioner.vendors.settings.effective``)."""
    levels = _levels(db, tenant_id, model, device_id)
    return {name: value for name, (value, _) in levels.items()}


def effective_view(session: Session, device: Device, ctx: ProvisioningContext) -> list[Effective]:
    """Every catalogue setting as ``device`` gets it, with where the value comes from."""
    model = _model(device.model)
    module = vendor(model.vendor)
    levels = _levels(session, device.tenant_id, device.model, device.id)
    shown = []
    for name in SETTINGS:
        value, source = levels.get(name, (None, Level.DEFAULT))
        if value is None:
            value = effective({}, name, ctx)
        note = module.setting_problem(model, name, value) if value is not None else None
        shown.append(Effective(name, value, source, value is not None and note is None, note))
    return shown


# --- raw vendor parameters -------------------------------------------------------------------


def check_raw(model: ModelInfo, name: str, value: str) -> None:
    """Invalid, naming the parameter, unless an expert may set it on ``model`` to ``value``."""
    module = vendor(model.vendor)
    problem = module.raw_parameter_problem(model, name)
    if problem is not None:
        raise Invalid(problem)
    try:
        module.check_text(name, value)
    except ValueError as error:
        raise Invalid(str(error)) from error


def set_raw(session: Session, scope: Scope, name: str, value: str) -> None:
    """Set a raw parameter for a device (``scope.device_id``) or a tenant's devices of one
    model (``scope.tenant_id`` and ``scope.model``)."""
    if scope.device_id is not None:
        device = session.get(Device, scope.device_id)
        if device is None:
            raise NotFound(f"no device with id {scope.device_id}")
        check_raw(_model(device.model), name, value)
    elif scope.tenant_id is not None and scope.model is not None:
        check_raw(_model(scope.model), name, value)
    else:
        raise Invalid("a raw parameter is set for a device, or for a tenant and a model")
    _upsert(session, RawParameter, scope, name, value)


def clear_raw(session: Session, scope: Scope, name: str) -> None:
    _delete(session, RawParameter, scope, name)


def raw_for(
    db: Connection | Session, device_id: int, tenant_id: int | None, model: str
) -> list[tuple[str, str, Level]]:
    """The raw parameters a device gets, by name: its own over its tenant's for its model."""
    found = _winners(_rows(db, RawParameter, device_id, tenant_id, model))
    return [(name, value, level) for name, (value, level) in sorted(found.items())]


def rendered_settings(
    db: Connection | Session, device_id: int, tenant_id: int | None, model: str
) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """What a device's file needs: its resolved settings and its raw parameters."""
    raw = tuple((name, value) for name, value, _ in raw_for(db, device_id, tenant_id, model))
    return resolved(db, device_id, tenant_id, model), raw
