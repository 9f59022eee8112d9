"""``GET /api/v1/convergence``: how much of the fleet runs the file it would get now."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import Range
from marshmallow import RAISE

from provisioner.domain.operations.convergence import Figures, convergence
from provisioner.web.api.auth import ANY_ROLE, auth
from provisioner.web.api.context import API_PREFIX, provisioner
from provisioner.web.api.present import Data

bp = APIBlueprint("convergence", __name__, url_prefix=API_PREFIX)


class ConvergenceQuery(Schema):
    tenant = String(metadata={"description": "Only this tenant's devices (exact name)."})
    limit = Integer(
        load_default=100,
        validate=Range(0, 10_000),
        metadata={"description": "At most this many behind devices listed, longest first."},
    )


class FiguresOut(Schema):
    current = Integer(required=True, metadata={"description": "Fetched the current file."})
    behind = Integer(required=True, metadata={"description": "Fetched an older file."})
    never_fetched = Integer(required=True)


class BehindOut(Schema):
    mac = String(required=True)
    tenant = String(required=True, allow_none=True)
    model = String(required=True)
    fetched_at = DateTime(required=True, metadata={"description": "Its newest fetch."})
    behind_since = DateTime(
        required=True,
        metadata={"description": "The later of its newest fetch and its device's last change."},
    )


class ConvergenceOut(Schema):
    fleet = Nested(FiguresOut, required=True)
    tenants = Dict(keys=String(), values=Nested(FiguresOut), required=True)
    models = Dict(keys=String(), values=Nested(FiguresOut), required=True)
    behind = List(Nested(BehindOut), required=True)


def _figures(figures: dict[str, Figures]) -> dict[str, dict[str, int]]:
    return {name: value.as_dict() for name, value in sorted(figures.items())}


@bp.get("/convergence")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.input(ConvergenceQuery, location="query", unknown=RAISE)
@bp.output(ConvergenceOut)
def fleet_convergence(query_data: dict[str, Any]) -> Data:
    """Devices whose newest fetch got the file they would get now, those behind, those that
    never fetched: fleet-wide, per tenant and per model. Renders every device: seconds for
    thousands; serve's gauges (provisioner_fleet_devices) give the fleet figures for free."""
    found = convergence(provisioner(), query_data.get("tenant"))
    return {
        "fleet": found.fleet.as_dict(),
        "tenants": _figures(found.tenants),
        "models": _figures(found.models),
        "behind": [
            {
                "mac": s.mac,
                "tenant": s.tenant,
                "model": s.model,
                "fetched_at": s.fetched_at,
                "behind_since": s.behind_since,
            }
            for s in found.behind[: query_data["limit"]]
        ],
    }
