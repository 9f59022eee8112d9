"""Scheduled changes: an accepted API request kept until its time, then claimed by exactly one
``serve`` and applied in the claim's transaction (docs/architecture.md, "Scheduled changes").

The claim is a row lock (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL) held by the
transaction that applies the change and marks it applied: a crash before the commit leaves it
pending for the next pass, a crash after leaves it applied, and another instance skips it while
it is held. On SQLite the claim's UPDATE takes the database's one write lock instead.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from provisioner.db.audit import ChangeStatus, ScheduledChange
from provisioner.db.models import utcnow
from provisioner.domain.errors import Conflict, Invalid, get_by_id

MAX_AHEAD = dt.timedelta(days=366)


def check_apply_at(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO 8601 time with its offset, in the future, at most a year ahead. An offset's '+'
    sent unencoded in a URL arrives as a space, and is taken as the '+' it was."""
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(
            f"apply_at {text!r} is not an ISO 8601 time (2026-12-24T09:00:00+09:00)"
        ) from exc
    if moment.tzinfo is None:
        raise Invalid("apply_at needs its UTC offset, e.g. +09:00 for Japan")
    now = now or utcnow()
    if moment <= now:
        raise Invalid("apply_at is in the past; leave it out to change now")
    if moment > now + MAX_AHEAD:
        raise Invalid("apply_at is more than a year ahead")
    return moment.astimezone(dt.UTC)


def schedule(session: Session, **fields: object) -> ScheduledChange:
    change = ScheduledChange(status=ChangeStatus.PENDING.value, created_at=utcnow(), **fields)
    session.add(change)
    session.flush()
    return change


def list_changes(session: Session, status: str | None = None) -> list[ScheduledChange]:
    query = select(ScheduledChange).order_by(ScheduledChange.apply_at, ScheduledChange.id)
    if status is not None:
        query = query.where(ScheduledChange.status == status)
    return list(session.scalars(query))


def get_change(session: Session, change_id: int) -> ScheduledChange:
    """The change, or NotFound (an id beyond the column's range included: no 500)."""
    return get_by_id(session, ScheduledChange, change_id, "scheduled change")


def cancel(session: Session, change: ScheduledChange) -> ScheduledChange:
    """Until it runs; a change applied, failed or cancelled stays as it is (409)."""
    if change.status != ChangeStatus.PENDING.value:
        raise Conflict(
            f"scheduled change {change.id} is {change.status}: only a pending one can be cancelled"
        )
    change.status = ChangeStatus.CANCELLED.value
    change.done_at = utcnow()
    return change


def claim_due(
    session: Session, now: dt.datetime, change_id: int | None = None
) -> ScheduledChange | None:
    """The next due change (or that one), locked for this transaction; None when none is free."""
    query = select(ScheduledChange).where(
        ScheduledChange.status == ChangeStatus.PENDING.value, ScheduledChange.apply_at <= now
    )
    if change_id is not None:
        query = query.where(ScheduledChange.id == change_id)
    found = session.scalars(
        query.order_by(ScheduledChange.apply_at, ScheduledChange.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if found is None:
        return None
    # SQLite has no row locks: this write takes its database lock, and a second instance's
    # claim of the same row finds it no longer pending (or waits, then finds that).
    claimed = session.execute(
        update(ScheduledChange)
        .where(ScheduledChange.id == found.id, ScheduledChange.status == ChangeStatus.PENDING.value)
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )
    return found if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def finish(session: Session, change: ScheduledChange, ok: bool, outcome: str) -> None:
    change.status = (ChangeStatus.APPLIED if ok else ChangeStatus.FAILED).value
    change.outcome = outcome
    change.done_at = utcnow()
