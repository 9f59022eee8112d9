"""SIP accounts of a tenant; their passwords only for admins, through their own operation."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from provisioner.domain.inventory import accounts, tenants
from provisioner.web.api import present
from provisioner.web.api.auth import (
    ADMIN,
    ADMIN_AND_CUSTOMER,
    ANY_ROLE_AND_CUSTOMER,
    auth,
    customer_may_set,
)
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import AccountIn, AccountOut, AccountPatch, AccountSecretOut

bp = APIBlueprint("accounts", __name__, url_prefix=API_PREFIX)


@bp.get("/tenants/<int:tenant_id>/accounts")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(AccountOut(many=True))
def list_accounts(tenant_id: int) -> list[Data]:
    """List a tenant's accounts by extension (no passwords)."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        return [present.account(a) for a in accounts.list_accounts(session, tenant)]


@bp.post("/tenants/<int:tenant_id>/accounts")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(AccountIn)
@bp.output(AccountOut, status_code=201)
@bp.doc(responses=[403, 409])
def create_account(tenant_id: int, json_data: dict[str, Any]) -> Data:
    """Create an account; its SIP username and password are generated.

    No direct number during a trial. The password is read with GET /accounts/{id}/secret.
    """
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        account = accounts.create_account(
            session,
            provisioner().box,
            tenant,
            extension=json_data["extension"],
            direct_number=json_data["direct_number"] or "",
            display_name=json_data["display_name"],
        )
        return present.account(account)


@bp.get("/accounts/<int:account_id>")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(AccountOut)
def get_account(account_id: int) -> Data:
    """Show an account (no password)."""
    with unit_of_work() as session:
        return present.account(accounts.get_account(session, account_id))


@bp.patch("/accounts/<int:account_id>")
@bp.auth_required(auth, roles=ADMIN_AND_CUSTOMER)
@bp.input(AccountPatch)
@bp.output(AccountOut)
@bp.doc(responses=[403, 409])
def update_account(account_id: int, json_data: dict[str, Any]) -> Data:
    """Change an account's extension, direct number (null removes it) or display name (a
    customer: the display name only)."""
    customer_may_set(json_data, frozenset({"display_name"}))
    if "direct_number" in json_data and json_data["direct_number"] is None:
        json_data["direct_number"] = ""
    with unit_of_work() as session:
        account = accounts.get_account(session, account_id)
        return present.account(accounts.update_account(session, account, **json_data))


@bp.delete("/accounts/<int:account_id>")
@bp.auth_required(auth, roles=ADMIN)
@bp.output({}, status_code=204)
@bp.doc(responses=[403, 409])
def delete_account(account_id: int) -> tuple[str, int]:
    """Delete an account that is on no device line.

    Refused while the tenant would hold more representative numbers than accounts.
    """
    with unit_of_work() as session:
        accounts.delete_account(session, accounts.get_account(session, account_id))
    return "", 204


@bp.get("/accounts/<int:account_id>/secret")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(AccountSecretOut)
@bp.doc(responses=[403])
def get_account_secret(account_id: int) -> Data:
    """Read an account's SIP credentials (admin only)."""
    with unit_of_work() as session:
        account = accounts.get_account(session, account_id)
        return {
            "account_id": account.id,
            "sip_username": account.sip_username,
            "sip_password": provisioner().box.decrypt(account.sip_password_encrypted),
        }
