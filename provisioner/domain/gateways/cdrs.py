"""Call detail records from gateways: taken in whole batches, once per call, read per tenant.

A gateway uploads the lines of its ``cdr.jsonl`` (the contract in ``docs/gateway32.md``,
'cdr.jsonl'). A batch is checked in full before anything is written: one malformed record
refuses the batch with its index and the reason, so the gateway's uploader keeps its offset
and nothing is half-stored. A record seen before (same gateway, same call ID) is counted,
not stored twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from provisioner.db.gateways import CallRecord
from provisioner.db.models import Device, Tenant
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.gateways.devices import bound_tenant
from provisioner.domain.inventory.patterns import storable

MAX_BATCH = 1000
DIRECTIONS = ("inbound", "outbound")
RESULTS = (
    "answered", "busy", "no_answer", "cancelled", "refused_licence", "no_core", "failed",
)  # fmt: skip
_TEXT_LIMITS = {"call_id": 255, "from": 255, "to": 255}
_REQUIRED = ("call_id", "direction", "tenant", "from", "to", "start", "end", "result",
             "channels_in_use")  # fmt: skip
_KNOWN = {*_REQUIRED, "did", "answer", "sip_code", "q850", "emergency"}


class BadRecord(Invalid):
    """One record of a batch is malformed; ``index`` says which (the gateway sets it aside)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"record {index}: {reason}; nothing of this batch was stored")
        self.index = index


@dataclass(frozen=True)
class IngestReport:
    accepted: int
    duplicates: int


def _time(record: dict[str, Any], name: str) -> dt.datetime:
    value = record.get(name)
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError(f"{name} must be a UTC time like 2026-12-01T19:00:00.123Z")
    try:
        return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(f"{name} {value[:40]!r} is not a UTC time") from None


def _integer(record: dict[str, Any], name: str, low: int, high: int, optional: bool) -> int | None:
    value = record.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return value


def _record(raw: object, tenant: Tenant) -> dict[str, Any]:
    """One record as stored, or ValueError saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError("is not a JSON object")
    missing = [name for name in _REQUIRED if name not in raw]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ValueError(f"has unknown fields {', '.join(unknown)[:100]}")
    for name, limit in _TEXT_LIMITS.items():
        if not isinstance(raw[name], str) or not 0 < len(raw[name]) <= limit:
            raise ValueError(f"{name} must be text of 1 to {limit} characters")
        if not storable(raw[name]):  # else PostgreSQL refuses the batch: a 500, retried forever
            raise ValueError(f"{name} holds a NUL or a lone surrogate")
    if raw["tenant"] != tenant.name:
        raise ValueError("names another tenant than the gateway's")
    if raw["direction"] not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    if raw["result"] not in RESULTS:
        raise ValueError(f"result must be one of {', '.join(RESULTS)}")
    did = raw.get("did")
    if did is not None and (not isinstance(did, str) or not did.isdigit() or len(did) > 20):
        raise ValueError("did must be up to 20 digits, or null")
    emergency = raw.get("emergency", False)
    if not isinstance(emergency, bool):
        raise ValueError("emergency must be true or false")
    start, end = _time(raw, "start"), _time(raw, "end")
    answer = None if raw.get("answer") is None else _time(raw, "answer")
    if end < start or (answer is not None and not start <= answer <= end):
        raise ValueError("times must run start <= answer <= end")
    return {
        "call_id": raw["call_id"],
        "direction": raw["direction"],
        "did": did,
        "from_uri": raw["from"],
        "to_uri": raw["to"],
        "start": start,
        "answer": answer,
        "end": end,
        "result": raw["result"],
        "sip_code": _integer(raw, "sip_code", 100, 699, optional=True),
        "q850": _integer(raw, "q850", 0, 127, optional=True),
        "channels_in_use": _integer(raw, "channels_in_use", 0, 10_000, optional=False),
        "emergency": emergency,
    }


def check_batch(body: object, tenant: Tenant) -> list[dict[str, Any]]:
    """Every record of a batch, checked; :class:`Invalid` names the first bad one."""
    if not isinstance(body, list):
        raise Invalid("the body must be a JSON list of CDR objects")
    if len(body) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} records per request; send the rest after")
    records = []
    for index, raw in enumerate(body):
        try:
            records.append(_record(raw, tenant))
        except ValueError as exc:
            raise BadRecord(index, str(exc)) from None
    return records


def ingest(session: Session, device: Device, body: object) -> IngestReport:
    """Store a batch from a gateway; records already held (by call ID) are skipped."""
    tenant = bound_tenant(device)
    records = check_batch(body, tenant)
    unique = {record["call_id"]: record for record in records}
    for _attempt in range(3):
        held = set(
            session.scalars(
                select(CallRecord.call_id).where(
                    CallRecord.device_id == device.id, CallRecord.call_id.in_(list(unique))
                )
            )
        )
        fresh = [r for call_id, r in unique.items() if call_id not in held]
        try:
            with session.begin_nested():
                session.add_all(
                    CallRecord(device_id=device.id, tenant_id=tenant.id, **r) for r in fresh
                )
                session.flush()
        except IntegrityError:
            continue  # a retried upload of the same lines stored some of them meanwhile
        return IngestReport(accepted=len(fresh), duplicates=len(records) - len(fresh))
    raise Conflict("the same records are being uploaded concurrently; retry")


def list_cdrs(
    session: Session,
    tenant: Tenant,
    *,
    limit: int = 100,
    offset: int = 0,
    direction: str | None = None,
) -> tuple[list[CallRecord], int]:
    """A tenant's records, newest first, a page at a time, and how many there are in all."""
    query = select(CallRecord).where(CallRecord.tenant_id == tenant.id)
    if direction is not None:
        query = query.where(CallRecord.direction == direction)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(CallRecord.start.desc(), CallRecord.id.desc())
        .limit(limit)
        .offset(offset)
        .options(joinedload(CallRecord.device))
    )
    return list(page), total
