"""The request history (``/audit``, JSON or CSV) and the scheduled changes (list, show,
cancel). Staff see everything; a customer sees its own tenant's (the session's tenant scope).
Nothing here changes or removes a record: the history is append-only for every role."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response
from marshmallow import RAISE

from provisioner.domain import audit, schedule
from provisioner.web.api.auth import ANY_ROLE_AND_CUSTOMER, CUSTOMER, auth
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.door import present_change
from provisioner.web.api.history_schemas import (
    AuditPageOut,
    AuditQuery,
    ScheduledOut,
    ScheduledQuery,
)
from provisioner.web.api.present import Data

bp = APIBlueprint("history", __name__, url_prefix=API_PREFIX)
# Whoever may change something may cancel a change scheduled in its name or tenant.
MAY_SCHEDULE = ["admin", "warehouse", "support", CUSTOMER]
CSV_LIMIT = 100_000
AUDIT_CSV_PATH = "/audit.csv"


def _filter(query_data: dict[str, Any]) -> audit.AuditFilter:
    fields = {k: v for k, v in query_data.items() if k not in ("limit", "offset")}
    return audit.AuditFilter(**fields)


@bp.get("/audit")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(AuditQuery, location="query", unknown=RAISE)
@bp.output(AuditPageOut)
def list_audit(query_data: dict[str, Any]) -> Data:
    """Every change and refused change, newest first: who, when, what (before and after,
    secrets masked), how (door, request id, source) and its result."""
    with unit_of_work() as session:
        page, total = audit.list_records(
            session, _filter(query_data), offset=query_data["offset"], limit=query_data["limit"]
        )
        return {"items": [audit.as_dict(r) for r in page], "total": total}


@bp.get(AUDIT_CSV_PATH)
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(AuditQuery, location="query", unknown=RAISE)
@bp.doc(responses={200: {"description": "UTF-8 CSV with a BOM, newest first"}})
def export_audit(query_data: dict[str, Any]) -> Response:
    """The same records as CSV (the filters apply; limit and offset page it too)."""
    with unit_of_work() as session:
        page, _total = audit.list_records(
            session,
            _filter(query_data),
            offset=query_data["offset"],
            limit=min(CSV_LIMIT, query_data["limit"]),
        )
        body = "\ufeff" + audit.to_csv(page)
    return Response(body, 200, content_type="text/csv; charset=utf-8")


@bp.get("/scheduled-changes")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(ScheduledQuery, location="query", unknown=RAISE)
@bp.output(ScheduledOut(many=True))
def list_scheduled(query_data: dict[str, Any]) -> list[Data]:
    """Changes sent with ``?apply_at=``, by time: pending, applied, failed (with the reason)
    or cancelled."""
    with unit_of_work() as session:
        return [present_change(c) for c in schedule.list_changes(session, **query_data)]


@bp.get("/scheduled-changes/<int:change_id>")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(ScheduledOut)
def get_scheduled(change_id: int) -> Data:
    """One scheduled change and, once it ran, its outcome."""
    with unit_of_work() as session:
        return present_change(schedule.get_change(session, change_id))


@bp.post("/scheduled-changes/<int:change_id>/actions/cancel")
@bp.auth_required(auth, roles=MAY_SCHEDULE)
@bp.output(ScheduledOut)
@bp.doc(responses=[403, 409])
def cancel_scheduled(change_id: int) -> Data:
    """Cancel a pending change (409 once it ran or was cancelled)."""
    with unit_of_work() as session:
        return present_change(schedule.cancel(session, schedule.get_change(session, change_id)))
