"""Request and response shapes of the admin API (marshmallow, published as OpenAPI 3.1).

Input patterns come from the domain's own rules, so a value the document allows is a value the
inventory takes; the domain still checks everything itself.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Enum, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp

from provisioner.db.models import ApiRole, DeviceState, TenantStatus
from provisioner.domain.access.tokens import TOKEN_NAME_LENGTH
from provisioner.domain.errors import MAX_ID
from provisioner.domain.inventory.accounts import (
    DISPLAY_NAME_LENGTH,
    DISPLAY_NAME_PATTERN,
    EXTENSION_PATTERN,
)
from provisioner.domain.inventory.devices import DIRECT, MAC_PATTERN, OWNERSHIPS, REVISION_LENGTH
from provisioner.domain.inventory.patterns import NAME_PATTERN, PHONE_NUMBER_PATTERN, anchored
from provisioner.domain.inventory.tenants import EXPIRY_RANGE, MAX_NETWORKS
from provisioner.vendors import device_models
from provisioner.vendors.base import FaxMode

MODELS = [model.model for model in device_models()]
_PHONE = anchored(PHONE_NUMBER_PATTERN)
_PHONE_ERROR = "must be a Japanese number: 0 and 9-10 more digits (hyphens and spaces allowed)"


class JsonInteger(Integer):
    """A JSON integer (12 or 12.0, as JSON Schema says); marshmallow alone takes true and "12"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(Boolean):
    """JSON true or false; marshmallow alone also takes 1, "yes" and "on"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _id(**kwargs: Any) -> JsonInteger:
    return JsonInteger(validate=Range(1, MAX_ID), **kwargs)


def _name(max_length: int = 100, **kwargs: Any) -> String:
    return String(
        validate=[
            Length(1, max_length),
            Regexp(
                anchored(NAME_PATTERN),
                error="no control characters or line breaks, no spaces at either end",
            ),
        ],
        **kwargs,
    )


class ErrorOut(Schema):
    error = String(required=True, metadata={"description": "What went wrong and what to do."})


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "What went wrong and what to do."}},
    "required": ["error"],
}


# Tenants and representative numbers


class RepresentativeIn(Schema):
    number = String(required=True, validate=Regexp(_PHONE, error=_PHONE_ERROR))


class RepresentativeOut(Schema):
    id = Integer(required=True)
    tenant_id = Integer(required=True)
    number = String(required=True)


_NETWORKS = {
    "validate": Length(max=MAX_NETWORKS),
    "metadata": {"description": "CIDRs the tenant's devices fetch from, e.g. 192.0.2.0/24."},
}


_EXPIRY = {
    "allow_none": True,
    "validate": Range(*EXPIRY_RANGE),
    "metadata": {
        "description": "Seconds its phones ask to stay registered (NAT offices: short); null: "
        "the service's PROVISIONER_REGISTRATION_EXPIRY, which also caps it."
    },
}


class TenantIn(Schema):
    name = _name(required=True)
    status = Enum(TenantStatus, by_value=True, load_default=TenantStatus.ACTIVE)
    allowed_networks = List(String(validate=Length(1, 50)), load_default=list, **_NETWORKS)
    registration_expiry = JsonInteger(load_default=None, **_EXPIRY)


class TenantPatch(Schema):
    name = _name()
    status = Enum(TenantStatus, by_value=True)
    allowed_networks = List(String(validate=Length(1, 50)), **_NETWORKS)
    registration_expiry = JsonInteger(**_EXPIRY)


class TenantQuery(Schema):
    status = Enum(TenantStatus, by_value=True)
    name = _name()


class TenantOut(Schema):
    id = Integer(required=True)
    name = String(required=True)
    status = Enum(TenantStatus, by_value=True, required=True)
    allowed_networks = List(String(), required=True)
    registration_expiry = Integer(required=True, allow_none=True)
    account_count = Integer(required=True)
    representative_numbers = List(String(), required=True)
    created_at = DateTime(required=True)


# Accounts

_EXTENSION = Regexp(anchored(EXTENSION_PATTERN), error="must be 4 digits")
_DISPLAY_NAME = {
    "validate": [
        Length(1, DISPLAY_NAME_LENGTH),
        Regexp(
            anchored(DISPLAY_NAME_PATTERN),
            error='no double quote ("), control characters or line breaks',
        ),
    ]
}
_DIRECT_NUMBER = {
    "allow_none": True,
    "validate": Regexp(_PHONE, error=_PHONE_ERROR),
    "metadata": {"description": "null: an extension-only account (always, during a trial)."},
}


class AccountIn(Schema):
    extension = String(required=True, validate=_EXTENSION)
    direct_number = String(load_default=None, **_DIRECT_NUMBER)
    display_name = String(required=True, **_DISPLAY_NAME)


class AccountPatch(Schema):
    extension = String(validate=_EXTENSION)
    direct_number = String(**_DIRECT_NUMBER)
    display_name = String(**_DISPLAY_NAME)


class AccountOut(Schema):
    id = Integer(required=True)
    tenant_id = Integer(required=True)
    extension = String(required=True)
    direct_number = String(required=True, allow_none=True)
    display_name = String(required=True)
    sip_username = String(required=True)
    created_at = DateTime(required=True)


class AccountSecretOut(Schema):
    account_id = Integer(required=True)
    sip_username = String(required=True)
    sip_password = String(required=True)


# Devices

_MODEL = {"validate": OneOf(MODELS), "metadata": {"description": "A supported model."}}
_OWNERSHIP = {"validate": OneOf(OWNERSHIPS)}
_REVISION = {
    "validate": [
        Length(max=REVISION_LENGTH),
        Regexp(f"^(?:{NAME_PATTERN})?$", error="no control characters, no spaces at either end"),
    ],
    "metadata": {"description": "Empty removes it."},
}


class DeviceIn(Schema):
    mac = String(
        required=True,
        validate=Regexp(
            anchored(MAC_PATTERN),
            error="12 hex digits, optionally in pairs separated by ':' or '-'; not multicast",
        ),
    )
    model = String(required=True, **_MODEL)
    hardware_revision = String(**_REVISION)
    ownership = String(load_default="rental", **_OWNERSHIP)


class DevicePatch(Schema):
    caller_id = String(
        validate=Regexp(
            f"^(?:{DIRECT}|{PHONE_NUMBER_PATTERN})$",
            error=f"'{DIRECT}' or one of the tenant's representative numbers",
        ),
        metadata={
            "description": f"'{DIRECT}': the direct number of the first line; or one of the "
            "tenant's representative numbers."
        },
    )
    encrypt_config = JsonBoolean(
        metadata={
            "description": "Serve the file encrypted with the device's own key outside the "
            "bench, where the vendor can (Grandstream)."
        }
    )
    ring_representative = JsonBoolean(
        metadata={"description": "Whether calls to the tenant's representative numbers ring."}
    )
    hardware_revision = String(**_REVISION)
    ownership = String(**_OWNERSHIP)


class DeviceQuery(Schema):
    tenant_id = Integer(validate=Range(1, MAX_ID))
    state = Enum(DeviceState, by_value=True)
    model = String(**_MODEL)
    limit = Integer(load_default=100, validate=Range(1, 500))
    offset = Integer(load_default=0, validate=Range(0, MAX_ID))


class CallerIdOut(Schema):
    source = String(required=True, validate=OneOf([DIRECT, "representative"]))
    number = String(required=True, allow_none=True)


class LineOut(Schema):
    port = Integer(required=True)
    account_id = Integer(required=True)
    extension = String(required=True)
    direct_number = String(required=True, allow_none=True)
    display_name = String(required=True)
    sip_username = String(required=True)
    fax_mode = String(required=True, allow_none=True)
    ring_representative = Boolean(
        required=True,
        metadata={"description": "Calls to the tenant's representative numbers ring this line."},
    )


class RegistrationOut(Schema):
    port = Integer(required=True, metadata={"description": "Line key or FXS port."})
    extension = String(required=True)
    sip_username = String(required=True)
    state = String(
        required=True,
        metadata={
            "description": "registered, unregistered, or unknown (no PBX core read recently)."
        },
    )
    core = String(required=True, allow_none=True)
    contact = String(required=True, allow_none=True)
    source = String(required=True, allow_none=True)
    user_agent = String(required=True, allow_none=True)
    expires_at = DateTime(required=True, allow_none=True)
    first_seen = DateTime(required=True, allow_none=True)
    last_seen = DateTime(required=True, allow_none=True)
    lost_at = DateTime(required=True, allow_none=True)


class DiagnosisOut(Schema):
    cause = String(required=True, metadata={"description": "The rule that held, or ok."})
    ja = String(required=True)
    en = String(required=True)
    facts = List(String(), required=True)


class DeviceOut(Schema):
    mac = String(required=True, metadata={"description": "12 lower-case hex digits."})
    vendor = String(required=True)
    model = String(required=True)
    kind = String(required=True)
    hardware_revision = String(required=True, allow_none=True)
    firmware_version = String(required=True, allow_none=True)
    ownership = String(required=True)
    state = Enum(DeviceState, by_value=True, required=True)
    tenant_id = Integer(required=True, allow_none=True)
    tenant = String(required=True, allow_none=True)
    caller_id = Nested(CallerIdOut, required=True)
    ring_representative = Boolean(required=True)
    encrypt_config = Boolean(required=True)
    lines = List(Nested(LineOut), required=True)
    registrations = List(
        Nested(RegistrationOut),
        metadata={"description": "Only on GET /devices/{mac}: each line's PBX registration."},
    )
    created_at = DateTime(required=True)
    updated_at = DateTime(required=True)


class DeviceListOut(Schema):
    items = List(Nested(DeviceOut), required=True)
    total = Integer(required=True, metadata={"description": "Devices matching, all pages."})


class LineIn(Schema):
    account_id = _id(required=True)
    fax_mode = String(
        load_default=None,
        allow_none=True,
        validate=OneOf([mode.value for mode in FaxMode]),
        metadata={"description": "ATA ports only."},
    )
    ring_representative = JsonBoolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "Rings for the representative numbers; null: unless FAX."},
    )


class LinePatch(Schema):
    ring_representative = JsonBoolean(
        required=True,
        allow_none=True,
        metadata={"description": "Rings for the representative numbers; null: as the device "
                  "says, unless FAX."},
    )  # fmt: skip


class BindIn(Schema):
    tenant_id = _id(required=True)


class ReEnrolIn(Schema):
    reason = String(
        required=True,
        validate=Length(min=1, max=200),
        metadata={"description": "What happened on site (a factory reset...): on the timeline."},
    )
    hours = Integer(
        load_default=24,
        validate=Range(min=1, max=168),
        metadata={"description": "How long the one fetch may take to arrive."},
    )


class ReEnrolOut(Schema):
    mac = String(required=True)
    until = DateTime(required=True, metadata={"description": "End of the one-fetch window."})


class ResyncIn(Schema):
    to = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=100),
        metadata={
            "description": "The device's SIP contact HOST:PORT, on an address it fetched its "
            "file from with proof (else 409); default: its last such address."
        },
    )
    reboot = Boolean(load_default=False)


class ResyncOut(Schema):
    mac = String(required=True)
    target = String(required=True)
    event = String(required=True)
    sha256 = String(required=True, metadata={"description": "The file the device should fetch."})
    status = Integer(required=True, allow_none=True, metadata={"description": "The SIP answer."})
    answer = String(required=True)
    accepted = Boolean(required=True)


class CredentialsOut(Schema):
    mac = String(required=True)
    http_user = String(required=True, allow_none=True)
    http_password = String(required=True, allow_none=True)
    admin_password = String(required=True)
    config_key = String(required=True, allow_none=True)


class TimelineQuery(Schema):
    limit = Integer(load_default=50, validate=Range(1, 1000))


class EventOut(Schema):
    id = Integer(required=True)
    at = DateTime(required=True)
    kind = String(required=True)
    actor = String(required=True, allow_none=True)
    protocol = String(required=True, allow_none=True)
    filename = String(required=True, allow_none=True)
    source = String(required=True, allow_none=True)
    user_agent = String(required=True, allow_none=True)
    firmware = String(required=True, allow_none=True)
    status = Integer(required=True, allow_none=True)
    sha256 = String(required=True, allow_none=True)
    detail = String(required=True, allow_none=True)


# Imports


class ImportQuery(Schema):
    dry_run = Boolean(load_default=False, metadata={"description": "Check only; write nothing."})


class ImportOut(Schema):
    rows = Integer(required=True)
    dry_run = Boolean(required=True)
    written = Boolean(required=True)
    tenants_created = Integer(required=True)
    accounts_created = Integer(required=True)
    devices_created = Integer(required=True)
    devices_updated = Integer(required=True)
    representative_numbers_created = Integer(required=True)


class RowErrorOut(Schema):
    line = Integer(required=True, metadata={"description": "Line in the file; 1 is the header."})
    reason = String(required=True)


class ImportRefusedOut(ErrorOut):
    rows = List(Nested(RowErrorOut), metadata={"description": "Every bad row of the sheet."})


# Tokens


class TokenIn(Schema):
    name = _name(TOKEN_NAME_LENGTH, required=True)
    role = Enum(ApiRole, by_value=True, required=True)
    tenant_id = _id(metadata={"description": "A customer token's tenant (customer only)."})


class TokenOut(Schema):
    name = String(required=True)
    role = Enum(ApiRole, by_value=True, required=True)
    created_at = DateTime(required=True)
    revoked_at = DateTime(required=True, allow_none=True)


class TokenCreatedOut(TokenOut):
    token = String(required=True, metadata={"description": "Shown this once; keep it safe."})
