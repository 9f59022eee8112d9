"""Applying scheduled changes: each due request is replayed through the application, as the
caller who asked for it, inside the transaction that claimed it (docs/architecture.md,
"Scheduled changes").

The views run their units of work on the claim's session (``db.session.joined``), so the
change, its audit records, its outcome record and its "applied" mark commit together or not at
all. A replay that is refused (the change became invalid in the meantime) is rolled back whole
and the change marked failed with the refusal, in a transaction of its own. The devices whose
files changed are told (resync NOTIFY) after the commit, as after any API change.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from provisioner.db.actor import Actor, acting
from provisioner.db.audit import ScheduledChange
from provisioner.db.models import ApiRole, utcnow
from provisioner.db.session import joined
from provisioner.domain import audit, schedule
from provisioner.domain.delivery.resync import ResyncQueue
from provisioner.web.api.auth import IN_PROCESS_CALLER, Caller
from provisioner.web.api.door import REPLAY

log = logging.getLogger(__name__)


@dataclass
class Replay:
    """What the API hands back to the scheduler: the devices to tell after the commit."""

    touched: set[int] = field(default_factory=set)


def apply_due(app: Flask, now: dt.datetime | None = None) -> int:
    """Apply every change due by ``now``, one transaction each; returns how many ran."""
    ran = 0
    while _apply_one(app, now or utcnow()):
        ran += 1
    return ran


def _actor(change: ScheduledChange) -> Actor:
    return Actor(
        f"scheduled #{change.id} ({change.actor})"[:100],
        "scheduler",
        role=change.role,
        tenant_id=change.tenant_id,
        request_id=f"scheduled-{change.id}",
    )


class _Refused(Exception):
    """The replay was answered 4xx or 5xx: undo everything it did."""


def _apply_one(app: Flask, now: dt.datetime) -> bool:
    db = app.extensions["provisioner"].db
    replay = Replay()
    try:
        with db.session() as session:
            change = schedule.claim_due(session, now)
            if change is None:
                return False
            change_id, tenant_id, actor = change.id, change.tenant_id, _actor(change)
            with joined(session), acting(actor):
                status, message = _replay(app, change, replay)
            if status >= 400:
                raise _Refused(f"{status}: {message}")
            outcome = f"{status}: applied"
            schedule.finish(session, change, ok=True, outcome=outcome)
            detail = f"{change.method} {change.path}: {outcome}"
            audit.record_outcome(session, actor, object_id=str(change_id), tenant_id=tenant_id,
                                 ok=True, detail=detail)  # fmt: skip
            session.info.pop("touched_devices", None)
    except _Refused as refused:
        _fail(db, now, change_id, actor, str(refused))
        return True
    if replay.touched:
        queue: ResyncQueue = app.extensions["resync"]
        queue.submit(replay.touched, actor=actor.name)
    log.info("scheduled change %d applied", change_id)
    return True


def _replay(app: Flask, change: ScheduledChange, replay: Replay) -> tuple[int, str]:
    name = change.actor.removeprefix("api ")
    caller = Caller(name, ApiRole(change.role), change.tenant_id)
    environ: dict[str, Any] = {IN_PROCESS_CALLER: caller, REPLAY: replay}
    response = app.test_client().open(
        change.path,
        method=change.method,
        query_string=change.query,
        data=change.body.encode("utf-8"),
        content_type=change.content_type,
        headers={"Authorization": "Bearer scheduled"},
        environ_overrides=environ,
    )
    body = response.get_json(silent=True)
    message = body.get("error", "") if isinstance(body, dict) else ""
    return response.status_code, message


def _fail(db: Any, now: dt.datetime, change_id: int, actor: Actor, outcome: str) -> None:
    """Mark the change failed with its reason, if nobody else did meanwhile."""
    with db.session() as session:
        change = schedule.claim_due(session, now, change_id)
        if change is None:
            return
        schedule.finish(session, change, ok=False, outcome=outcome)
        audit.record_outcome(session, actor, object_id=str(change_id),
                             tenant_id=change.tenant_id, ok=False, detail=outcome)  # fmt: skip
    log.warning("scheduled change %d failed: %s", change_id, outcome)
