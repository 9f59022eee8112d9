"""Request and response shapes of the PoE part of the admin API (issue 5).

Secrets go in (community, v3 keys) and never come out: no output schema has a field for them.
"""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp

from provisioner.domain.errors import MAX_ID
from provisioner.domain.inventory.patterns import NAME_PATTERN, anchored
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe import switches as poe_switches
from provisioner.snmp.profiles import PROFILES
from provisioner.web.api.schemas import JsonInteger

_SECRET = {"load_default": "", "validate": Length(max=200)}


class SwitchIn(Schema):
    name = String(required=True, validate=[Length(1, poe_switches.NAME_LENGTH),
                                           Regexp(anchored(NAME_PATTERN))])  # fmt: skip
    host = String(required=True, validate=Regexp(anchored(poe_switches.HOST_PATTERN)))
    port = JsonInteger(load_default=161, validate=Range(1, 65535))
    vendor = String(required=True, validate=OneOf(list(PROFILES)))
    version = String(load_default="2c", validate=OneOf(poe_switches.VERSIONS))
    community = String(**_SECRET, metadata={"description": "v2c, with write access"})
    user = String(load_default="", validate=Length(max=64), metadata={"description": "v3"})
    auth_key = String(**_SECRET)
    priv_key = String(**_SECRET)
    context = String(load_default="", validate=Length(max=64))
    tenant_id = JsonInteger(
        load_default=None,
        allow_none=True,
        validate=Range(1, MAX_ID),
        metadata={"description": "The tenant whose site it is; null: the warehouse bench"},
    )
    poll_interval = JsonInteger(
        load_default=60, validate=Range(poe_switches.MIN_INTERVAL, poe_switches.MAX_INTERVAL)
    )
    port_map = Dict(
        keys=String(validate=Regexp(r"^\d{1,5}\.\d{1,5}$")),
        values=JsonInteger(validate=Range(1, 2**31 - 1)),
        load_default=dict,
        metadata={"description": "GROUP.PORT -> ifIndex where the vendor profile is wrong"},
    )
    uplinks = List(String(validate=Length(1, 64)), load_default=list, validate=Length(max=64))


class PseOut(Schema):
    group = Integer(required=True)
    budget_w = Integer(required=True, allow_none=True)
    consumption_w = Integer(required=True, allow_none=True)
    status = String(required=True)


class SwitchOut(Schema):
    name = String(required=True)
    host = String(required=True)
    port = Integer(required=True)
    version = String(required=True)
    vendor = String(required=True)
    site = String(required=True)
    poll_interval = Integer(required=True)
    last_poll_at = DateTime(required=True, allow_none=True)
    last_ok_at = DateTime(required=True, allow_none=True)
    last_error = String(required=True, allow_none=True)
    pse = List(Nested(PseOut), required=True)
    active_alerts = Integer(required=True)


class PortOut(Schema):
    name = String(required=True)
    group = Integer(required=True)
    index = Integer(required=True)
    ifindex = Integer(required=True, allow_none=True)
    admin_enabled = Boolean(required=True)
    detection = String(required=True)
    power_class = Integer(required=True, allow_none=True)
    power_w = Float(required=True, allow_none=True)
    link_up = Boolean(required=True, allow_none=True)
    uplink = Boolean(required=True)
    macs = List(String(), required=True)
    device = String(required=True, allow_none=True, metadata={"description": "MAC"})


class AlertOut(Schema):
    switch = String(required=True)
    kind = String(required=True)
    subject = String(required=True)
    detail = String(required=True)
    raised_at = DateTime(required=True)


class SwitchStatusOut(SwitchOut):
    ports = List(Nested(PortOut), required=True)
    alerts = List(Nested(AlertOut), required=True)


class PollOut(Schema):
    switch = String(required=True)
    queued = Boolean(required=True)


class CycleIn(Schema):
    off_seconds = JsonInteger(
        load_default=poe_cycles.DEFAULT_OFF, validate=Range(poe_cycles.MIN_OFF, poe_cycles.MAX_OFF)
    )


class CycleOut(Schema):
    id = Integer(required=True)
    switch = String(required=True)
    port = String(required=True)
    device = String(required=True, allow_none=True)
    state = String(required=True)
    actor = String(required=True)
    off_seconds = Integer(required=True)
    requested_at = DateTime(required=True)
    off_at = DateTime(required=True, allow_none=True)
    on_at = DateTime(required=True, allow_none=True)
    finished_at = DateTime(required=True, allow_none=True)
    fetched_at = DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "The device's first fetch after power came back"},
    )
    detail = String(required=True, allow_none=True)


class CycleQuery(Schema):
    limit = Integer(load_default=20, validate=Range(1, 500))


class DevicePoeOut(Schema):
    switch = String(required=True)
    port = String(required=True)
    label = String(required=True)
    present = Boolean(required=True, metadata={"description": "Seen there in the last poll"})
    detection = String(required=True)
    power_w = Float(required=True, allow_none=True)
    power_class = Integer(required=True, allow_none=True)
    alerts = List(String(), required=True)
