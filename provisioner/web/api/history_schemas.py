"""Shapes of the request history and the scheduled changes."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from provisioner.db.audit import ChangeStatus, Outcome
from provisioner.domain.errors import MAX_ID


class AuditQuery(Schema):
    tenant_id = Integer(validate=Range(1, MAX_ID))
    actor = String(validate=Length(1, 100))
    object_type = String(validate=Length(1, 40))
    object_id = String(validate=Length(1, 40))
    result = String(validate=OneOf([o.value for o in Outcome]))
    since = DateTime(metadata={"description": "From this time on (ISO 8601 with its offset)."})
    until = DateTime(metadata={"description": "Before this time."})
    limit = Integer(load_default=100, validate=Range(1, 1000))
    offset = Integer(load_default=0, validate=Range(0, MAX_ID))


class AuditOut(Schema):
    id = Integer(required=True)
    at = String(required=True)
    actor = String(required=True)
    role = String(required=True, allow_none=True)
    door = String(required=True)
    tenant_id = Integer(required=True, allow_none=True)
    object_type = String(required=True)
    object_id = String(required=True, allow_none=True)
    object_label = String(required=True, allow_none=True)
    action = String(required=True)
    changes = Dict(required=True, metadata={"description": "field: [before, after]; secrets ***"})
    result = String(required=True)
    detail = String(required=True, allow_none=True)
    request_id = String(required=True, allow_none=True)
    source = String(required=True, allow_none=True)


class AuditPageOut(Schema):
    items = List(Nested(AuditOut), required=True)
    total = Integer(required=True, metadata={"description": "Records matching, all pages."})


class ScheduledQuery(Schema):
    status = String(validate=OneOf([s.value for s in ChangeStatus]))


class ScheduledOut(Schema):
    id = Integer(required=True)
    apply_at = String(required=True)
    created_at = String(required=True)
    method = String(required=True)
    path = String(required=True)
    query = String(required=True)
    body = String(required=True)
    actor = String(required=True)
    role = String(required=True)
    tenant_id = Integer(required=True, allow_none=True)
    status = String(required=True)
    done_at = String(required=True, allow_none=True)
    outcome = String(required=True, allow_none=True)
