"""Read side of the inventory: a device as its vendor module sees it, and its timeline."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from provisioner.db.models import (
    Account,
    Device,
    DeviceEvent,
    DeviceLine,
    DeviceState,
    RepresentativeNumber,
    Tenant,
)
from provisioner.domain.keys.layout import device_keys
from provisioner.domain.settings.values import rendered_settings
from provisioner.secretbox import SecretBox
from provisioner.settings import Settings
from provisioner.vendors import find_model
from provisioner.vendors.base import (
    DeviceView,
    FaxMode,
    LineView,
    ModelInfo,
    ProvisioningContext,
    ProvisioningCredentials,
)

log = logging.getLogger(__name__)


def provisioning_context(settings: Settings) -> ProvisioningContext:
    return ProvisioningContext(
        pbx_host=settings.pbx_host,
        pbx_port=settings.pbx_port,
        pbx_backup=settings.pbx_cores[1] if len(settings.pbx_cores) > 1 else None,
        pbx_srv=settings.pbx_srv,
        http_base=settings.http_base.rstrip("/"),
        tftp_host=settings.tftp_host,
        ntp_server=settings.ntp_server,
        registration_expiry=settings.registration_expiry,
        nat_keepalive=settings.nat_keepalive,
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


# What the access decision and the firmware director read of a device and its tenant.
_RECORD_FIELDS = (
    Device.vendor,
    Device.model,
    Device.state,
    Device.http_user,
    Device.http_password_encrypted,
    Device.config_key_encrypted,
    Device.encrypt_config,
    Device.re_enrol_until,
    Device.hardware_revision,
    Device.firmware_version,
    Tenant.name.label("tenant"),
    Tenant.allowed_networks,
)

# Device, tenant, caller ID and every line with its account: one round trip, built once.
_DEVICE_ROWS = (
    select(
        Device.id,
        Device.tenant_id,
        Device.admin_password_encrypted,
        *_RECORD_FIELDS,
        Tenant.registration_expiry,
        RepresentativeNumber.number.label("representative"),
        DeviceLine.port,
        DeviceLine.fax_mode,
        Account.extension,
        Account.direct_number,
        Account.display_name,
        Account.sip_username,
        Account.sip_password_encrypted,
    )
    .select_from(Device)
    .outerjoin(Tenant, Tenant.id == Device.tenant_id)
    .outerjoin(RepresentativeNumber, RepresentativeNumber.id == Device.caller_id_number_id)
    .outerjoin(DeviceLine, DeviceLine.device_id == Device.id)
    .outerjoin(Account, Account.id == DeviceLine.account_id)
    .where(Device.mac == bindparam("mac"))
    .order_by(DeviceLine.port)
)


@dataclass(frozen=True, slots=True)
class DeviceAccess:
    """What the access decision needs; secrets stay encrypted until they are needed."""

    state: DeviceState
    allowed_networks: tuple[str, ...]
    http_user: str | None
    http_password_encrypted: str | None
    config_key_encrypted: str | None
    encrypt_config: bool
    re_enrol_until: dt.datetime | None = None  # support armed an on-site re-enrolment

    def credentials(self, box: SecretBox) -> ProvisioningCredentials | None:
        if not (self.http_user and self.http_password_encrypted and self.config_key_encrypted):
            return None
        return ProvisioningCredentials(
            self.http_user,
            box.decrypt(self.http_password_encrypted),
            box.decrypt(self.config_key_encrypted),
        )

    def http_login(self, decrypt: Callable[[str], str]) -> tuple[str, str] | None:
        """User and password only, for checking a request (``decrypt``: ``SecretBox.decrypt``
        or a memo of it): the config key stays sealed."""
        if not (self.http_user and self.http_password_encrypted and self.config_key_encrypted):
            return None
        return self.http_user, decrypt(self.http_password_encrypted)


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device as the access decision and the firmware director see it: one row, nothing
    decrypted. A fetch answered from a stored render needs no more than this."""

    mac: str
    model: ModelInfo
    tenant: str | None
    access: DeviceAccess
    hardware_revision: str | None = None
    firmware_version: str | None = None  # last reported (as of this cache entry)


@dataclass(frozen=True, slots=True)
class FoundDevice:
    view: DeviceView  # without credentials: the delivery adds them on a staging network
    access: DeviceAccess
    hardware_revision: str | None = None
    firmware_version: str | None = None  # last reported (as of this cache entry)

    @property
    def record(self) -> DeviceRecord:
        view = self.view
        return DeviceRecord(
            view.mac,
            view.model,
            view.tenant,
            self.access,
            self.hardware_revision,
            self.firmware_version,
        )


# The device row and its tenant's networks, for a fetch before it knows whether a render is
# needed at all.
_RECORD_COLUMNS = (
    select(Device.mac, *_RECORD_FIELDS)
    .select_from(Device)
    .outerjoin(Tenant, Tenant.id == Device.tenant_id)
)
_RECORD_ROW = _RECORD_COLUMNS.where(Device.mac == bindparam("mac"))
_CHUNK = 500  # MACs per IN list


def find_record(connection: Connection, mac: str, vendor: str) -> DeviceRecord | None:
    """The device behind a fetch, in one small query: None as for :func:`find_device`."""
    row = connection.execute(_RECORD_ROW, {"mac": mac}).first()
    if row is None or row.vendor != vendor or row.state is DeviceState.RETIRED:
        return None
    return _record(row)


def find_records(connection: Connection, macs: Sequence[str]) -> list[tuple[str, DeviceRecord]]:
    """(vendor, record) of each of these MACs in service, a few queries for them all. A row of
    a model this release does not know is left out (its own fetch will say so): one such row
    must not keep a worker from starting."""
    found = []
    for start in range(0, len(macs), _CHUNK):
        chunk = _RECORD_COLUMNS.where(Device.mac.in_(macs[start : start + _CHUNK]))
        for row in connection.execute(chunk):
            if row.state is DeviceState.RETIRED:
                continue
            try:
                found.append((row.vendor, _record(row)))
            except LookupError as exc:
                log.warning("not remembered before serving: %s", exc)
    return found


def _record(row: Row[*tuple[Any, ...]]) -> DeviceRecord:
    model = find_model(row.model)
    if model is None:
        raise LookupError(f"device {row.mac} has model {row.model}, which is not supported")
    return DeviceRecord(
        mac=row.mac,
        model=model,
        tenant=row.tenant,
        access=_access(row),
        hardware_revision=row.hardware_revision,
        firmware_version=row.firmware_version,
    )


def _access(row: Row[*tuple[Any, ...]]) -> DeviceAccess:
    return DeviceAccess(
        state=row.state,
        allowed_networks=tuple(row.allowed_networks or ()),
        http_user=row.http_user,
        http_password_encrypted=row.http_password_encrypted,
        config_key_encrypted=row.config_key_encrypted,
        encrypt_config=row.encrypt_config,
        re_enrol_until=row.re_enrol_until,
    )


def find_device(
    connection: Connection, box: SecretBox, mac: str, vendor: str
) -> FoundDevice | None:
    """A device as the renderer and the access decision see it, secrets of its lines decrypted.

    None for an unknown MAC, another vendor's device or a retired one. This is the hot path
    of a boot storm: Core rows in one round trip, not ORM objects (and a few more for its
    settings, raw parameters and keys, only for a device that exists).
    """
    rows = connection.execute(_DEVICE_ROWS, {"mac": mac}).all()
    if not rows or rows[0].vendor != vendor or rows[0].state is DeviceState.RETIRED:
        return None
    first = rows[0]
    model = find_model(first.model)
    if model is None:
        raise LookupError(f"device {mac} has model {first.model}, which is not supported")
    lines = tuple(
        LineView(
            port=row.port,
            extension=row.extension,
            direct_number=row.direct_number,
            display_name=row.display_name,
            sip_username=row.sip_username,
            sip_password=box.decrypt(row.sip_password_encrypted),
            fax_mode=FaxMode(row.fax_mode) if row.fax_mode else None,
        )
        for row in rows
        if row.port is not None
    )
    caller_id = first.representative or (lines[0].direct_number if lines else None)
    settings, raw = rendered_settings(connection, first.id, first.tenant_id, first.model)
    keys = device_keys(connection, first.id, first.tenant_id, model)
    view = DeviceView(
        mac=mac,
        model=model,
        admin_password=box.decrypt(first.admin_password_encrypted),
        lines=lines,
        caller_id=caller_id,
        tenant=first.tenant,
        registration_expiry=first.registration_expiry,
        settings=settings,
        raw_parameters=raw,
        keys=keys.keys,
        expansion_modules=keys.expansion_modules,
    )
    return FoundDevice(view, _access(first), first.hardware_revision, first.firmware_version)


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
