"""API tokens, for admins: the same as ``provisioner token`` on the command line."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from sqlalchemy.orm import Session

from provisioner.db.models import Tenant
from provisioner.domain.access import tokens
from provisioner.domain.errors import Invalid, NotFound
from provisioner.domain.inventory import tenants
from provisioner.web.api import present
from provisioner.web.api.auth import ADMIN, auth
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import TokenCreatedOut, TokenIn, TokenOut

bp = APIBlueprint("tokens", __name__, url_prefix=API_PREFIX)


@bp.get("/tokens")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(TokenOut(many=True))
@bp.doc(responses=[403])
def list_tokens() -> list[Data]:
    """List tokens by name, revoked ones included (never the tokens themselves)."""
    with unit_of_work() as session:
        return [present.token(t) for t in tokens.list_tokens(session)]


@bp.post("/tokens")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(TokenIn)
@bp.output(TokenCreatedOut, status_code=201)
@bp.doc(responses=[403, 409])
def create_token(json_data: dict[str, Any]) -> Data:
    """Create a token; the response shows it this once, only its SHA-256 is kept."""
    with unit_of_work() as session:
        tenant_id = json_data.get("tenant_id")
        tenant = _tenant(session, tenant_id) if tenant_id is not None else None
        token, plain = tokens.create_token(session, json_data["name"], json_data["role"], tenant)
        return present.token(token) | {"token": plain}


def _tenant(session: Session, tenant_id: int) -> Tenant:
    """A body naming no tenant is a bad value (422), not a missing path (404)."""
    try:
        return tenants.get_tenant(session, tenant_id)
    except NotFound as exc:
        raise Invalid(str(exc)) from exc


@bp.delete("/tokens/<name>")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(TokenOut)
@bp.doc(responses=[403])
def revoke_token(name: str) -> Data:
    """Revoke a token by name: it stops working at once."""
    with unit_of_work() as session:
        return present.token(tokens.revoke_token(session, name))
