"""Bearer-token authentication and the roles each operation allows.

401 when the token is missing, unknown or revoked; 403 when its role may not do the operation.
Which role may do what is declared on each view and published in the API document.
"""

from __future__ import annotations

from dataclasses import dataclass

from apiflask import HTTPError, HTTPTokenAuth
from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from provisioner.db.models import ApiRole
from provisioner.domain.access import tokens
from provisioner.web.api.context import provisioner

# Everybody reads; warehouse staff also add, bind and ship devices and import sheets; only an
# admin manages tenants, accounts and tokens and reads secrets.
ANY_ROLE = [role.value for role in ApiRole]
ADMIN = [ApiRole.ADMIN.value]
WAREHOUSE = [ApiRole.ADMIN.value, ApiRole.WAREHOUSE.value]
SUPPORT = [ApiRole.ADMIN.value, ApiRole.SUPPORT.value]

auth = HTTPTokenAuth(
    scheme="Bearer",
    description=(
        "A token made with `provisioner token create NAME --role ROLE` (or POST /api/v1/tokens)."
        " The roles listed on an operation are the ones allowed to call it."
    ),
)


@dataclass(frozen=True)
class Caller:
    name: str
    role: ApiRole

    @property
    def actor(self) -> str:
        """How the caller appears on device timelines."""
        return f"api {self.name}"


@auth.verify_token
def _verify(presented: str) -> Caller | None:
    with provisioner().db.session() as session:
        token = tokens.authenticate(session, presented)
        caller = Caller(token.name, token.role) if token else None
    g.api_caller = caller
    return caller


@auth.get_user_roles
def _roles(caller: Caller) -> str:
    return caller.role.value


@auth.error_processor
def _refuse(error: HTTPError) -> ResponseReturnValue:
    caller: Caller | None = g.get("api_caller")
    if error.status_code == 403 and caller is not None:
        view = current_app.view_functions.get(request.endpoint or "")
        allowed = ", ".join(getattr(view, "_spec", {}).get("roles") or [])
        message = f"the {caller.role} role may not do this; it takes a token of role: {allowed}"
    else:
        message = (
            "send 'Authorization: Bearer <token>' with a live token "
            "(make one with: provisioner token create NAME --role ROLE)"
        )
    return jsonify(error=message), error.status_code


def caller() -> Caller:
    return auth.current_user  # type: ignore[return-value]
