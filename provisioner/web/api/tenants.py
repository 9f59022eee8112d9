"""Tenants and their representative numbers."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from marshmallow import RAISE

from provisioner.domain.inventory import representatives, tenants
from provisioner.web.api import present
from provisioner.web.api.auth import (
    ADMIN,
    ADMIN_AND_CUSTOMER,
    ANY_ROLE_AND_CUSTOMER,
    auth,
    customer_may_set,
)
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import (
    RepresentativeIn,
    RepresentativeOut,
    TenantIn,
    TenantOut,
    TenantPatch,
    TenantQuery,
)

bp = APIBlueprint("tenants", __name__, url_prefix=API_PREFIX)


@bp.get("/tenants")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(TenantQuery, location="query", unknown=RAISE)
@bp.output(TenantOut(many=True))
def list_tenants(query_data: dict[str, Any]) -> list[Data]:
    """List tenants, optionally by status or exact name."""
    with unit_of_work() as session:
        return [present.tenant(t) for t in tenants.list_tenants(session, **query_data)]


@bp.post("/tenants")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(TenantIn)
@bp.output(TenantOut, status_code=201)
@bp.doc(responses=[403, 409])
def create_tenant(json_data: dict[str, Any]) -> Data:
    """Create a tenant.

    The status defaults to active; allowed networks are CIDRs, stored in canonical form.
    """
    expiry = json_data.pop("registration_expiry")
    with unit_of_work() as session:
        tenant = tenants.create_tenant(session, **json_data)
        tenants.set_registration_expiry(tenant, expiry)
        return present.tenant(tenant)


@bp.get("/tenants/<int:tenant_id>")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(TenantOut)
def get_tenant(tenant_id: int) -> Data:
    """Show a tenant."""
    with unit_of_work() as session:
        return present.tenant(tenants.get_tenant(session, tenant_id))


@bp.patch("/tenants/<int:tenant_id>")
@bp.auth_required(auth, roles=ADMIN_AND_CUSTOMER)
@bp.input(TenantPatch)
@bp.output(TenantOut)
@bp.doc(responses=[403, 409])
def update_tenant(tenant_id: int, json_data: dict[str, Any]) -> Data:
    """Rename a tenant, change its status, replace its allowed networks or set its phones'
    registration expiry (null: the service's).

    Back to trial only without direct numbers. A customer replaces only its allowed networks
    (its offices' addresses).
    """
    customer_may_set(json_data, frozenset({"allowed_networks"}))
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        if "registration_expiry" in json_data:
            tenants.set_registration_expiry(tenant, json_data.pop("registration_expiry"))
        return present.tenant(tenants.update_tenant(session, tenant, **json_data))


@bp.get("/tenants/<int:tenant_id>/representative-numbers")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(RepresentativeOut(many=True))
def list_representatives(tenant_id: int) -> list[Data]:
    """List a tenant's representative numbers."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        return [present.representative(rep) for rep in tenant.representative_numbers]


@bp.post("/tenants/<int:tenant_id>/representative-numbers")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(RepresentativeIn)
@bp.output(RepresentativeOut, status_code=201)
@bp.doc(responses=[403, 409])
def add_representative(tenant_id: int, json_data: dict[str, Any]) -> Data:
    """Give a tenant a representative number.

    A tenant holds at most as many as it has accounts, and at most 3 (409 beyond).
    """
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        added = representatives.add_representative(session, tenant, json_data["number"])
        return present.representative(added)


@bp.delete("/representative-numbers/<int:number_id>")
@bp.auth_required(auth, roles=ADMIN)
@bp.output({}, status_code=204)
@bp.doc(responses=[403, 409])
def remove_representative(number_id: int) -> tuple[str, int]:
    """Take a representative number away; not while a device presents it as caller ID."""
    with unit_of_work() as session:
        number = representatives.get_representative(session, number_id)
        representatives.remove_representative(session, number)
    return "", 204
