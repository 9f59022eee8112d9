"""Gateways: licences (issued by an admin), ported numbers, trunk settings, and per-tenant CDRs.

A gateway is added, bound and shipped through the device operations (model ``32Gateway``).
"""

from __future__ import annotations

import json
from typing import Any

from apiflask import APIBlueprint
from marshmallow import RAISE
from sqlalchemy.orm import Session

from provisioner.db.gateways import CallRecord, GatewayLicence
from provisioner.db.models import ApiRole, Device
from provisioner.domain.gateways import cdrs, licences, trunk
from provisioner.domain.gateways import numbers as number_map
from provisioner.domain.gateways.devices import get_gateway, get_profile, set_profile
from provisioner.domain.gateways.trunk import TrunkAccount, apply_account
from provisioner.domain.inventory import tenants
from provisioner.web.api.auth import ADMIN, ANY_ROLE, WAREHOUSE, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.gateway_schemas import (
    CdrListOut,
    CdrQuery,
    GatewayOut,
    GatewayPatch,
    IssuerOut,
    LicenceIn,
    LicenceOut,
    NumberIn,
)
from provisioner.web.api.present import Data, utc

bp = APIBlueprint("gateways", __name__, url_prefix=API_PREFIX)
# CDRs name callers: not for warehouse staff.
CDR_READERS = [role.value for role in ApiRole if role is not ApiRole.WAREHOUSE]


def _licence(row: GatewayLicence) -> Data:
    return {
        "serial": row.serial,
        "gateway": row.device.mac,
        "tenant": row.tenant.name,
        "channels": row.channels,
        "not_before": utc(row.not_before),
        "expires": utc(row.expires),
        "issued_at": utc(row.issued_at),
        "issued_by": row.issued_by,
        "document": json.loads(row.document),
    }


def _gateway(session: Session, device: Device) -> Data:
    profile = get_profile(session, device)
    numbers = number_map.list_numbers(session, device)
    return {
        "mac": device.mac,
        "tenant": device.tenant.name if device.tenant else None,
        "trunk": {"host": profile.trunk_host, "port": profile.trunk_port} if profile else None,
        "trunk_account": trunk.account_summary(profile) if profile else None,
        "cores": list(profile.cores) if profile else [],
        "refusal": profile.refusal if profile else None,
        "default_caller_id": profile.default_caller_id if profile else None,
        "max_call_seconds": profile.max_call_seconds if profile else None,
        "numbers": [{"did": n.did, "destination": n.destination} for n in numbers],
    }


def _cdr(row: CallRecord) -> Data:
    return {
        "gateway": row.device.mac,
        "call_id": row.call_id,
        "direction": row.direction,
        "did": row.did,
        "from_uri": row.from_uri,
        "to_uri": row.to_uri,
        "start": utc(row.start),
        "answer": utc(row.answer),
        "end": utc(row.end),
        "result": row.result,
        "sip_code": row.sip_code,
        "q850": row.q850,
        "channels_in_use": row.channels_in_use,
        "emergency": row.emergency,
    }


@bp.get("/gateways/<mac>")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(GatewayOut)
@bp.doc(responses=[409])
def get_gateway_settings(mac: str) -> Data:
    """A gateway's trunk, PBX cores, refusal and ported numbers."""
    with unit_of_work() as session:
        return _gateway(session, get_gateway(session, mac))


@bp.patch("/gateways/<mac>")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(GatewayPatch)
@bp.output(GatewayOut)
@bp.doc(responses=[403, 409])
def update_gateway(mac: str, json_data: dict[str, Any]) -> Data:
    """Set the trunk (needed first), PBX cores (primary first), refusal and call limits."""
    with unit_of_work() as session:
        device = get_gateway(session, mac)
        account = {k: json_data.pop(k) for k in list(json_data) if k.startswith("trunk_")}
        profile = set_profile(session, device, **json_data)
        apply_account(
            profile, provisioner().box,
            TrunkAccount(**{name.removeprefix("trunk_"): value for name, value in account.items()}),
        )  # fmt: skip
        return _gateway(session, device)


@bp.put("/gateways/<mac>/numbers/<did>")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(NumberIn)
@bp.output(GatewayOut)
@bp.doc(responses=[403, 409])
def put_number(mac: str, did: str, json_data: dict[str, Any]) -> Data:
    """Map a ported number to an extension or representative number of the gateway's tenant.

    A DID belongs to one gateway (409 when another holds it).
    """
    with unit_of_work() as session:
        device = get_gateway(session, mac)
        number_map.map_number(session, device, did, **json_data)
        return _gateway(session, device)


@bp.delete("/gateways/<mac>/numbers/<did>")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.output({}, status_code=204)
@bp.doc(responses=[403, 409, 422])
def delete_number(mac: str, did: str) -> tuple[str, int]:
    """Take a ported number off a gateway."""
    with unit_of_work() as session:
        number_map.unmap_number(session, get_gateway(session, mac), did)
    return "", 204


@bp.get("/gateways/<mac>/licences")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(LicenceOut(many=True))
@bp.doc(responses=[409])
def list_licences(mac: str) -> list[Data]:
    """A gateway's licences, oldest first."""
    with unit_of_work() as session:
        return [_licence(r) for r in licences.list_licences(session, get_gateway(session, mac))]


@bp.post("/gateways/<mac>/licences")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(LicenceIn)
@bp.output(LicenceOut, status_code=201)
@bp.doc(responses=[403, 409])
def issue_licence(mac: str, json_data: dict[str, Any]) -> Data:
    """Issue a licence (4, 8, 16 or 32 channels) for a gateway bound to a tenant."""
    with unit_of_work() as session:
        device = get_gateway(session, mac)
        issued = licences.issue_licence(
            session, provisioner().box, device, actor=caller().actor, **json_data
        )
        return _licence(issued)


@bp.get("/licences")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(LicenceOut(many=True))
def list_all_licences() -> list[Data]:
    """Every licence of every gateway, oldest first."""
    with unit_of_work() as session:
        return [_licence(r) for r in licences.list_licences(session)]


@bp.get("/licences/<serial>")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(LicenceOut)
def get_licence(serial: str) -> Data:
    """One licence by its serial."""
    with unit_of_work() as session:
        return _licence(licences.get_licence(session, serial))


@bp.get("/licence-issuer")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(IssuerOut)
def get_issuer() -> Data:
    """The public key licences are signed with (made on first use)."""
    with unit_of_work() as session:
        return {"public_key_pem": licences.public_key(session, provisioner().box)}


@bp.get("/tenants/<int:tenant_id>/cdrs")
@bp.auth_required(auth, roles=CDR_READERS)
@bp.input(CdrQuery, location="query", unknown=RAISE)
@bp.output(CdrListOut)
@bp.doc(responses=[403])
def list_cdrs(tenant_id: int, query_data: dict[str, Any]) -> Data:
    """The tenant's call records from its gateways, newest first, a page at a time."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        page, total = cdrs.list_cdrs(session, tenant, **query_data)
        return {"items": [_cdr(r) for r in page], "total": total}
