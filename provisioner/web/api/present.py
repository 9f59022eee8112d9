"""Inventory rows as the API shows them: plain data, built while the session is open.

No secret is read here; the two views that hand secrets out decrypt them themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from provisioner.db.models import (
    Account,
    ApiToken,
    Device,
    DeviceEvent,
    RepresentativeNumber,
    Tenant,
)
from provisioner.domain.inventory import devices, representatives
from provisioner.domain.inventory.sheet import ImportReport

Data = dict[str, Any]


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive times; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def tenant(row: Tenant) -> Data:
    return {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "allowed_networks": list(row.allowed_networks or []),
        "registration_expiry": row.registration_expiry,
        "account_count": len(row.accounts),
        "representative_numbers": [rep.number for rep in row.representative_numbers],
        "created_at": utc(row.created_at),
    }


def representative(row: RepresentativeNumber) -> Data:
    return {"id": row.id, "tenant_id": row.tenant_id, "number": row.number}


def account(row: Account) -> Data:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "extension": row.extension,
        "direct_number": row.direct_number,
        "display_name": row.display_name,
        "sip_username": row.sip_username,
        "created_at": utc(row.created_at),
    }


def device(row: Device) -> Data:
    source, number = devices.caller_id(row)
    return {
        "mac": row.mac,
        "vendor": row.vendor,
        "model": row.model,
        "kind": row.kind,
        "hardware_revision": row.hardware_revision,
        "firmware_version": row.firmware_version,
        "ownership": row.ownership,
        "state": row.state,
        "tenant_id": row.tenant_id,
        "tenant": row.tenant.name if row.tenant else None,
        "caller_id": {"source": source, "number": number},
        "ring_representative": row.ring_representative,
        "encrypt_config": row.encrypt_config,
        "lines": [
            {
                "port": line.port,
                "account_id": line.account_id,
                "extension": line.account.extension,
                "direct_number": line.account.direct_number,
                "display_name": line.account.display_name,
                "sip_username": line.account.sip_username,
                "fax_mode": line.fax_mode,
                "ring_representative": representatives.rings_for_representative(row, line),
            }
            for line in row.lines
        ],
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
    }


def event(row: DeviceEvent) -> Data:
    return {
        "id": row.id,
        "at": utc(row.at),
        "kind": row.kind,
        "actor": row.actor,
        "protocol": row.protocol,
        "filename": row.filename,
        "source": row.source,
        "user_agent": row.user_agent,
        "firmware": row.firmware,
        "status": row.status,
        "sha256": row.sha256,
        "detail": row.detail,
    }


def token(row: ApiToken) -> Data:
    return {
        "name": row.name,
        "role": row.role,
        "created_at": utc(row.created_at),
        "revoked_at": utc(row.revoked_at),
    }


def import_report(report: ImportReport, dry_run: bool) -> Data:
    return {
        "rows": report.rows,
        "dry_run": dry_run,
        "written": report.written,
        "tenants_created": report.tenants_created,
        "accounts_created": report.accounts_created,
        "devices_created": report.devices_created,
        "devices_updated": report.devices_updated,
        "representative_numbers_created": report.representative_numbers_created,
    }
