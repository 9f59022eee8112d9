"""Request and response shapes of the gateway operations: licences, numbers, trunk, CDRs."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp

from gateway32.licence import CHANNEL_TIERS
from provisioner.domain.errors import MAX_ID
from provisioner.domain.gateways.cdrs import DIRECTIONS, RESULTS
from provisioner.domain.gateways.devices import MAX_CALL_SECONDS, MAX_CORES, REFUSALS
from provisioner.domain.gateways.licences import MAX_DAYS
from provisioner.domain.gateways.trunk import MAX_EXPIRES, MIN_EXPIRES, PASSWORD, USER
from provisioner.domain.inventory.accounts import EXTENSION_PATTERN
from provisioner.domain.inventory.patterns import PHONE_NUMBER_PATTERN, anchored
from provisioner.web.api.schemas import JsonBoolean, JsonInteger

_PHONE = Regexp(anchored(PHONE_NUMBER_PATTERN), error="a Japanese number: 0 and 9-10 digits")
_ADDRESS = {
    "validate": Length(1, 300),
    "metadata": {"description": "host[:port]; IPv6 in brackets. The port defaults to 5060."},
}


class LicenceIn(Schema):
    channels = JsonInteger(required=True, validate=OneOf(CHANNEL_TIERS))
    days = JsonInteger(required=True, validate=Range(1, MAX_DAYS))
    not_before = DateTime(
        metadata={"description": "Start; default now. A time without an offset is UTC."}
    )


class LicenceOut(Schema):
    serial = String(required=True)
    gateway = String(required=True)
    tenant = String(required=True)
    channels = Integer(required=True)
    not_before = DateTime(required=True)
    expires = DateTime(required=True)
    issued_at = DateTime(required=True)
    issued_by = String(required=True)
    document = Dict(
        required=True, metadata={"description": "The signed document the gateway verifies."}
    )


class IssuerOut(Schema):
    public_key_pem = String(
        required=True, metadata={"description": "For every gateway's issuer_key setting."}
    )


class NumberIn(Schema):
    destination = String(
        required=True,
        validate=Regexp(
            f"^(?:{EXTENSION_PATTERN}|{PHONE_NUMBER_PATTERN})$",
            error="an extension (4 digits) or a representative number of the tenant",
        ),
    )


class NumberOut(Schema):
    did = String(required=True)
    destination = String(required=True)


class GatewayPatch(Schema):
    trunk = String(**_ADDRESS)
    cores = List(String(**_ADDRESS), validate=Length(1, MAX_CORES))
    refusal = String(validate=OneOf(REFUSALS))
    default_caller_id = String(
        validate=Regexp(f"^(?:{PHONE_NUMBER_PATTERN})?$", error="a Japanese number, or empty")
    )
    max_call_seconds = JsonInteger(validate=Range(60, MAX_CALL_SECONDS))
    trunk_register = JsonBoolean(
        metadata={"description": "The carrier wants a REGISTER and digest answers (issue 14)."}
    )
    trunk_user = String(validate=Regexp(f"^(?:{USER.pattern})?$"))
    trunk_auth_user = String(validate=Regexp(f"^(?:{USER.pattern})?$"))
    trunk_password = String(
        load_only=True,
        validate=Regexp(f"^(?:{PASSWORD.pattern})?$", error="printable ASCII, no space or quote"),
        metadata={"description": "Stored encrypted; never shown again."},
    )
    trunk_registrar = String(validate=Length(0, 300), metadata=_ADDRESS["metadata"])
    trunk_outbound_proxy = String(validate=Length(0, 300), metadata=_ADDRESS["metadata"])
    trunk_expires = JsonInteger(validate=Range(MIN_EXPIRES, MAX_EXPIRES))


class PeerOut(Schema):
    host = String(required=True)
    port = Integer(required=True)


class TrunkAccountOut(Schema):
    register = Boolean(required=True)
    user = String(required=True, allow_none=True)
    auth_user = String(required=True, allow_none=True)
    password_set = Boolean(required=True)
    registrar = Nested(PeerOut, required=True, allow_none=True)
    outbound_proxy = Nested(PeerOut, required=True, allow_none=True)
    expires = Integer(required=True)
    state = String(
        required=True, allow_none=True,
        metadata={"description": "What the gateway last reported: 'registered' or why not."},
    )  # fmt: skip
    state_at = DateTime(required=True, allow_none=True)


class GatewayOut(Schema):
    mac = String(required=True)
    tenant = String(required=True, allow_none=True)
    trunk = Nested(PeerOut, required=True, allow_none=True)
    trunk_account = Nested(TrunkAccountOut, required=True, allow_none=True)
    cores = List(Nested(PeerOut), required=True)
    refusal = String(required=True, allow_none=True)
    default_caller_id = String(required=True, allow_none=True)
    max_call_seconds = Integer(required=True, allow_none=True)
    numbers = List(Nested(NumberOut), required=True)


class CdrQuery(Schema):
    direction = String(validate=OneOf(DIRECTIONS))
    limit = Integer(load_default=100, validate=Range(1, 1000))
    offset = Integer(load_default=0, validate=Range(0, MAX_ID))


class CdrOut(Schema):
    gateway = String(required=True)
    call_id = String(required=True)
    direction = String(required=True, validate=OneOf(DIRECTIONS))
    did = String(required=True, allow_none=True)
    from_uri = String(required=True, data_key="from")
    to_uri = String(required=True, data_key="to")
    start = DateTime(required=True)
    answer = DateTime(required=True, allow_none=True)
    end = DateTime(required=True)
    result = String(required=True, validate=OneOf(RESULTS))
    sip_code = Integer(required=True, allow_none=True)
    q850 = Integer(required=True, allow_none=True)
    channels_in_use = Integer(required=True)
    emergency = Boolean(required=True)


class CdrListOut(Schema):
    items = List(Nested(CdrOut), required=True)
    total = Integer(required=True)
