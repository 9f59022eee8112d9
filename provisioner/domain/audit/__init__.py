"""The request history: reading it (filters, pages, CSV), and the records no flush writes.

Changes are recorded by the session listener in ``provisioner.db.audit`` as they are flushed;
what is left for here is a refused attempt (one record, written in a transaction of its own
because the attempt's was rolled back) and a scheduled change's outcome.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from provisioner.db.actor import Actor, current
from provisioner.db.audit import AuditRecord, Outcome, record_row
from provisioner.db.session import Database

__all__ = [
    "AuditFilter",
    "Outcome",
    "as_dict",
    "list_records",
    "record_failure",
    "record_outcome",
    "to_csv",
    "utc",
]

MAX_DETAIL = 2000
CSV_COLUMNS = (
    "id", "at", "actor", "role", "door", "tenant_id", "object_type", "object_id",
    "object_label", "action", "changes", "result", "detail", "request_id", "source",
)  # fmt: skip


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: int | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    result: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def record_failure(db: Database, what: str, detail: str) -> None:
    """One record of a refused change (``what``: the request or command), in a transaction of
    its own: the attempt's left nothing."""
    who = current()
    row = record_row(
        who,
        tenant_id=who.tenant_id,
        object_type="request",
        object_id=None,
        object_label=what[:100],
        action="refused",
        result=Outcome.FAILED.value,
        detail=detail[:MAX_DETAIL],
    )
    with db.session() as session:
        session.connection().execute(insert(AuditRecord), [row])


def record_outcome(
    session: Session,
    actor: Actor,
    *,
    object_id: str,
    tenant_id: int | None,
    ok: bool,
    detail: str,
) -> None:
    """A scheduled change's outcome, in the transaction that applies it (or marks it failed)."""
    row = record_row(
        actor,
        tenant_id=tenant_id,
        object_type="scheduled_changes",
        object_id=object_id,
        object_label=None,
        action="apply",
        result=(Outcome.OK if ok else Outcome.FAILED).value,
        detail=detail[:MAX_DETAIL],
    )
    session.connection().execute(insert(AuditRecord), [row])


def list_records(
    session: Session, wanted: AuditFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[AuditRecord], int]:
    """Newest first, a page at a time, and how many match in all. A customer's session sees
    only its tenant's records (the session's tenant scope)."""
    query = select(AuditRecord)
    for column, value in (
        (AuditRecord.tenant_id, wanted.tenant_id),
        (AuditRecord.actor, wanted.actor),
        (AuditRecord.object_type, wanted.object_type),
        (AuditRecord.object_id, wanted.object_id),
        (AuditRecord.result, wanted.result),
    ):
        if value is not None:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(AuditRecord.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditRecord.at < wanted.until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).offset(offset).limit(limit)
    )
    return list(page), total


def as_dict(record: AuditRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "at": utc(record.at).isoformat(),
        "actor": record.actor,
        "role": record.role,
        "door": record.door,
        "tenant_id": record.tenant_id,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "object_label": record.object_label,
        "action": record.action,
        "changes": record.changes,
        "result": record.result,
        "detail": record.detail,
        "request_id": record.request_id,
        "source": record.source,
    }


def to_csv(records: Iterable[AuditRecord]) -> str:
    """UTF-8 CSV (the caller adds a BOM for spreadsheet programs); changes as JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = as_dict(record)
        row["changes"] = json.dumps(row["changes"], ensure_ascii=False, sort_keys=True)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
