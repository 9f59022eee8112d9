"""The request history (audit) and scheduled changes, and the two session listeners that make
them hold whatever the door: every change is recorded in the transaction that makes it, and a
customer's session sees only its own tenant (docs/architecture.md, "Audit and customer scope").

Recording is done on flush from the ORM's own change history, so a change made by the API, the
pages, the CLI, an import or a scheduled change is recorded alike, and rolled back with it.
Records are only ever inserted: the listener refuses a flush that updates or deletes one.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    and_,
    event,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    UOWTransaction,
    mapped_column,
    with_loader_criteria,
)

from provisioner.db.actor import Actor, current, tenant_scope
from provisioner.db.models import Base, Device, Tenant, utcnow

MASK = "***"
# Columns whose values never reach the history, changed or not.
SECRET_SUFFIXES = ("_encrypted", "password_hash", "token_sha256", "_secret", "private_key")
# Written by machines at fetch or poll rate, or history themselves: recorded elsewhere or not
# a change anybody asked for.
NOT_AUDITED = frozenset(
    {
        "audit_records",
        "device_events",
        "spent_nonces",
        "lockouts",
        "inventory_revision",
        "line_registrations",
        "pbx_cores",
        "poe_ports",
        "poe_locations",
        "poe_alerts",
        "firmware_download_counts",
        "gateway_cdrs",
        "staging_order_events",
    }
)
LABELS = ("mac", "name", "username", "extension", "number", "did")
# While set, the tenants of the rows recorded (a scheduled change's checking run: whose change
# it is, so that the tenant's customers see it even when staff scheduled it).
_tenants_seen: ContextVar[set[int] | None] = ContextVar("audit_tenants_seen", default=None)


@contextmanager
def tenants_seen() -> Iterator[set[int]]:
    seen: set[int] = set()
    token = _tenants_seen.set(seen)
    try:
        yield seen
    finally:
        _tenants_seen.reset(token)


class Outcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"


class AuditRecord(Base):
    """One change (or one refused attempt): who, when, what, before and after, how, result."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_at", "at"),
        Index("ix_audit_records_tenant_at", "tenant_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))
    door: Mapped[str] = mapped_column(String(12))
    tenant_id: Mapped[int | None] = mapped_column(Integer)  # no key: outlives its tenant
    object_type: Mapped[str] = mapped_column(String(40))  # a table name, or "request"
    object_id: Mapped[str | None] = mapped_column(String(40))
    object_label: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(
        String(20)
    )  # create, update, delete, replace, or what failed
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field: [before, after]
    request_id: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(45))
    result: Mapped[str] = mapped_column(String(10), default=Outcome.OK.value)
    detail: Mapped[str | None] = mapped_column(Text)


class ChangeStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ScheduledChange(Base):
    """An API request accepted for later: checked when asked, replayed at ``apply_at``."""

    __tablename__ = "scheduled_changes"
    __table_args__ = (Index("ix_scheduled_changes_due", "status", "apply_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    apply_at: Mapped[dt.datetime] = mapped_column()
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    query: Mapped[str] = mapped_column(String(2000), default="")
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ChangeStatus.PENDING.value)
    done_at: Mapped[dt.datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(Text)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def _secret(column: str) -> bool:
    return column.endswith(SECRET_SUFFIXES)


def _changes(obj: Base, action: str) -> dict[str, list[Any]]:
    """Field -> [before, after] for the columns that changed (all set columns when created,
    all columns when deleted); secrets masked."""
    state = inspect(obj)
    found: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if action == "create":
            before, after = None, getattr(obj, key)
            if after is None:
                continue
        elif action == "delete":
            before, after = getattr(obj, key), None
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
        found[key] = [MASK, MASK] if _secret(key) else [_plain(before), _plain(after)]
    return found


def _tenant_of(session: Session, obj: Base, changes: dict[str, list[Any]]) -> int | None:
    if isinstance(obj, Tenant):
        return obj.id
    if "tenant_id" in changes:
        before, after = changes["tenant_id"]
        return int(after) if after is not None else before and int(before)
    tenant_id: int | None = getattr(obj, "tenant_id", None)
    device_id: int | None = getattr(obj, "device_id", None)
    if tenant_id is None and device_id is not None:  # a line, a key, a device's own setting
        device = session.get(Device, device_id)
        return device.tenant_id if device is not None else None
    return tenant_id


def _label(obj: Base) -> str | None:
    for name in LABELS:
        value = getattr(obj, name, None)
        if isinstance(value, str):
            return value[:100]
    return None


# The sized columns of a record: what is longer (a long path) is cut, never refused.
SIZES = {"actor": 100, "role": 20, "door": 12, "object_type": 40, "object_id": 40,
         "object_label": 100, "action": 20, "request_id": 40, "source": 45}  # fmt: skip


def _storable(value: Any) -> Any:
    """PostgreSQL's text refuses NUL: a path or value that carried one is kept, escaped."""
    return value.replace("\x00", "\\x00") if isinstance(value, str) else value


def record_row(actor: Actor, **fields: Any) -> dict[str, Any]:
    """An audit row's values, with the actor's who and how (text as PostgreSQL stores it)."""
    row = {
        "at": utcnow(),
        "actor": actor.name[:100],
        "role": actor.role,
        "door": actor.door,
        "request_id": actor.request_id,
        "source": actor.source,
        "result": Outcome.OK.value,
        "changes": {},
        **fields,
    }
    stored = {key: _storable(value) for key, value in row.items()}
    for key, size in SIZES.items():
        if isinstance(stored.get(key), str):
            stored[key] = stored[key][:size]
    return stored


def record_replaced(session: Session, table: str, tenant: Tenant, before: int, after: int) -> None:
    """One record for a tenant's rows of ``table`` replaced as a whole by a bulk statement
    (which no flush sees): how many there were and are."""
    row = record_row(current(), tenant_id=tenant.id, object_type=table, object_id=str(tenant.id),
                     object_label=tenant.name[:100], action="replace",
                     changes={"rows": [before, after]})  # fmt: skip
    session.connection().execute(insert(AuditRecord), [row])


def _refuse_history_edits(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if any(isinstance(obj, AuditRecord) for obj in (*session.dirty, *session.deleted)):
        raise PermissionError("the audit history is append-only")


def _record(session: Session, _flush: UOWTransaction) -> None:
    """One audit row per created, changed or deleted row, in the flush's own transaction."""
    actor = current()
    rows = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in NOT_AUDITED:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            identity = inspect(obj).mapper.primary_key_from_instance(obj)
            rows.append(
                record_row(
                    actor,
                    tenant_id=_tenant_of(session, obj, changes),
                    object_type=table,
                    object_id=":".join(str(part) for part in identity),
                    object_label=_label(obj),
                    action=action,
                    changes=changes,
                )
            )
    if rows:
        session.connection().execute(insert(AuditRecord), rows)
        seen = _tenants_seen.get()
        if seen is not None:
            seen.update(row["tenant_id"] for row in rows if row["tenant_id"] is not None)


def _scope_to_tenant(state: ORMExecuteState) -> None:
    """A customer's queries see only its tenant: a row of another tenant is as missing as a
    row that does not exist, in every query of every door (lists, lookups, relationships)."""
    tenant = tenant_scope()
    if tenant is None or not state.is_select or state.execution_options.get("unscoped"):
        return
    criteria = [with_loader_criteria(Tenant, Tenant.id == tenant, include_aliases=True)]
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if cls is not Tenant and "tenant_id" in mapper.columns:
            criteria.append(
                with_loader_criteria(cls, _own_rows(cls, mapper, tenant), include_aliases=True)
            )
    state.statement = state.statement.options(*criteria)


def _own_rows(cls: Any, mapper: Any, tenant: int) -> ColumnElement[bool]:
    """The rows of ``cls`` a customer of ``tenant`` sees. A row set at one level of several
    (a setting for a tenant, a model or a device: ``tenant_id`` or ``device_id`` empty) is its
    tenant's own, one of its devices', or service-wide (a model's, which its phones get too)."""
    columns = mapper.columns
    if "device_id" not in columns or not columns["tenant_id"].nullable:
        return cls.tenant_id == tenant  # type: ignore[no-any-return]
    its_devices = select(Device.id).where(Device.tenant_id == tenant)
    return or_(
        cls.tenant_id == tenant,
        and_(cls.tenant_id.is_(None), or_(cls.device_id.is_(None), cls.device_id.in_(its_devices))),
    )


def install(sessions: Any) -> None:
    """Register the history and the tenant scope on a session factory."""
    event.listen(sessions, "before_flush", _refuse_history_edits)
    event.listen(sessions, "after_flush", _record)
    event.listen(sessions, "do_orm_execute", _scope_to_tenant)
