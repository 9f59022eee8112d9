"""Bearer-token authentication and the roles each operation allows.

401 when the token is missing, unknown or revoked; 403 when its role may not do the operation.
Which role may do what is declared on each view and published in the API document.
"""

from __future__ import annotations

from dataclasses import dataclass

from apiflask import HTTPError, HTTPTokenAuth, abort
from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from provisioner.db.actor import current, set_actor
from provisioner.db.models import STAFF_ROLES, ApiRole
from provisioner.domain.access import tokens
from provisioner.web.api import door
from provisioner.web.api.context import provisioner

# Every staff role reads; warehouse staff also add, bind and ship devices and import sheets;
# only an admin manages tenants, accounts and tokens and reads secrets.
ANY_ROLE = [role.value for role in STAFF_ROLES]
ADMIN = [ApiRole.ADMIN.value]
WAREHOUSE = [ApiRole.ADMIN.value, ApiRole.WAREHOUSE.value]
SUPPORT = [ApiRole.ADMIN.value, ApiRole.SUPPORT.value]
# The same, opened to a customer's administrator: what it reaches is its own tenant's only (the
# session's tenant scope, provisioner.db.audit), and what it may change is listed per field
# (``customer_may_set``). A route of another branch joins by taking one of these lists.
CUSTOMER = ApiRole.CUSTOMER.value
ANY_ROLE_AND_CUSTOMER = [*ANY_ROLE, CUSTOMER]
ADMIN_AND_CUSTOMER = [*ADMIN, CUSTOMER]
WAREHOUSE_AND_CUSTOMER = [*WAREHOUSE, CUSTOMER]
SUPPORT_AND_CUSTOMER = [*SUPPORT, CUSTOMER]

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
    tenant_id: int | None = None  # a customer's one tenant

    @property
    def actor(self) -> str:
        """How the caller appears on device timelines."""
        return f"api {self.name}"


# A WSGI environ key, which no header can set: the caller of a request made in-process, already
# authenticated (a customer page acting through the API, a scheduled change replayed as the
# caller who asked for it).
IN_PROCESS_CALLER = "provisioner.caller"


@auth.verify_token
def _verify(presented: str) -> Caller | None:
    known: Caller | None = request.environ.get(IN_PROCESS_CALLER)
    if known is not None:
        g.api_caller = known
        if current().door != "scheduler":  # a replay keeps its scheduler's actor
            set_actor(current().within(role=known.role.value, tenant_id=known.tenant_id))
            door.begin_schedule()
        return known
    with provisioner().db.session() as session:
        token = tokens.authenticate(session, presented)
        caller = Caller(token.name, token.role, token.tenant_id) if token else None
    g.api_caller = caller
    if caller is not None:
        set_actor(current().within(name=caller.actor, role=caller.role.value,
                                   tenant_id=caller.tenant_id))  # fmt: skip
        door.begin_schedule()
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


def is_customer() -> bool:
    return caller().role is ApiRole.CUSTOMER


def customer_may_set(json_data: dict[str, object], fields: frozenset[str]) -> None:
    """A customer changes only the listed fields of an object it may change (403 otherwise)."""
    if is_customer() and not set(json_data) <= fields:
        refused = ", ".join(sorted(set(json_data) - fields))
        allowed = ", ".join(sorted(fields)) or "nothing"
        abort(403, f"the customer role may not change {refused}; it may change: {allowed}")
