"""The provisioning sheet over HTTP: the same checks and all-or-nothing write as the CLI."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, abort
from flask import request
from marshmallow import RAISE

from provisioner.db.models import ApiRole
from provisioner.domain.errors import Invalid
from provisioner.domain.inventory.sheet import SheetError, import_sheet
from provisioner.web.api import present
from provisioner.web.api.auth import WAREHOUSE, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import ImportOut, ImportQuery, ImportRefusedOut

bp = APIBlueprint("imports", __name__, url_prefix=API_PREFIX)

IMPORT_PATH = "/imports"
SHEET_BODY = {
    "required": True,
    "description": "The sheet as UTF-8 CSV with its header row (see README).",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@bp.post(IMPORT_PATH)
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(ImportQuery, location="query", unknown=RAISE)
@bp.output(ImportOut)
@bp.doc(
    responses={
        403: "Forbidden",
        413: "Request Entity Too Large",
        422: {
            "description": "The sheet is unreadable, or these rows are bad; nothing was written",
            "content": {"application/json": {"schema": ImportRefusedOut}},
        },
    }
)
def import_csv(query_data: dict[str, Any]) -> Data:
    """Import a provisioning sheet (CSV body): every row or none.

    With dry_run=true every row is checked and nothing is written. A warehouse token may
    only name tenants, accounts and representative numbers that exist (an administrator
    creates those), as on their own endpoints.
    """
    dry_run = query_data["dry_run"]
    data = request.get_data(cache=False)
    with unit_of_work() as session:
        try:
            report = import_sheet(
                session,
                provisioner().box,
                data,
                dry_run=dry_run,
                actor=f"import by {caller().actor}",
                create_owners=caller().role is ApiRole.ADMIN,
            )
        except SheetError as exc:
            raise Invalid(str(exc)) from exc
    if not report.ok:
        abort(
            422,
            f"{len(report.errors)} bad row(s) of {report.rows}: nothing was written; "
            "fix them and send the whole sheet again",
            extra_data={"rows": [{"line": e.line, "reason": e.reason} for e in report.errors]},
        )
    return present.import_report(report, dry_run)
