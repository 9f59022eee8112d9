"""Devices: adding them to stock, their lines, caller ID and ringing, and their timeline.

A MAC in a path may be written in any form the provisioning sheet accepts.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from marshmallow import RAISE

from provisioner.domain.inventory import accounts, devices
from provisioner.domain.inventory.lookup import timeline
from provisioner.domain.registrations.doctor import diagnose
from provisioner.domain.registrations.status import device_lines
from provisioner.web.api import present
from provisioner.web.api.auth import (
    ADMIN,
    ANY_ROLE_AND_CUSTOMER,
    SUPPORT,
    WAREHOUSE,
    WAREHOUSE_AND_CUSTOMER,
    auth,
    customer_may_set,
)
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import (
    CredentialsOut,
    DeviceIn,
    DeviceListOut,
    DeviceOut,
    DevicePatch,
    DeviceQuery,
    DiagnosisOut,
    EventOut,
    LineIn,
    LinePatch,
    RegistrationOut,
    TimelineQuery,
)

bp = APIBlueprint("devices", __name__, url_prefix=API_PREFIX)


@bp.post("/devices")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(DeviceIn)
@bp.output(DeviceOut, status_code=201)
@bp.doc(responses=[403, 409])
def create_device(json_data: dict[str, Any]) -> Data:
    """Add a device to stock by MAC and model."""
    with unit_of_work() as session:
        return present.device(devices.create_device(session, provisioner().box, **json_data))


@bp.get("/devices")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(DeviceQuery, location="query", unknown=RAISE)
@bp.output(DeviceListOut)
def list_devices(query_data: dict[str, Any]) -> Data:
    """List devices by MAC, optionally by tenant, state or model, a page at a time."""
    with unit_of_work() as session:
        page, total = devices.list_devices(session, **query_data)
        return {"items": [present.device(d) for d in page], "total": total}


@bp.get("/devices/<mac>")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(DeviceOut)
def get_device(mac: str) -> Data:
    """Show a device with its lines, caller ID and each line's PBX registration."""
    with unit_of_work() as session:
        row = devices.get_device(session, mac)
        cores = provisioner().settings.pbx_readers
        return {
            **present.device(row),
            "registrations": [line.as_dict() for line in device_lines(session, row, cores)],
        }


@bp.get("/devices/<mac>/diagnosis")
@bp.auth_required(auth, roles=SUPPORT)
@bp.output(DiagnosisOut)
@bp.doc(responses=[403])
def get_diagnosis(mac: str) -> Data:
    """Why this phone may have no dial tone: the most likely cause and the next step, in
    Japanese and English, with the facts behind it."""
    with unit_of_work() as session:
        row = devices.get_device(session, mac)
        found = diagnose(session, row, provisioner().settings.pbx_readers)
        return {"cause": found.cause, "ja": found.ja, "en": found.en, "facts": found.facts}


@bp.get("/devices/<mac>/registrations")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(RegistrationOut(many=True))
def get_registrations(mac: str) -> list[Data]:
    """Each line's registration on the PBX cores: registered, unregistered, or unknown."""
    with unit_of_work() as session:
        row = devices.get_device(session, mac)
        cores = provisioner().settings.pbx_readers
        return [line.as_dict() for line in device_lines(session, row, cores)]


@bp.patch("/devices/<mac>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.input(DevicePatch)
@bp.output(DeviceOut)
@bp.doc(responses=[403, 409])
def update_device(mac: str, json_data: dict[str, Any]) -> Data:
    """Choose the caller ID, switch ringing on representative numbers, note revision or ownership.

    The caller ID is 'direct' (the first line's direct number) or one of the tenant's
    representative numbers. A customer chooses the caller ID and the ringing only.
    """
    customer_may_set(json_data, frozenset({"caller_id", "ring_representative"}))
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        return present.device(devices.update_device(session, device, **json_data))


@bp.put("/devices/<mac>/lines/<int:port>")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.input(LineIn)
@bp.output(DeviceOut)
@bp.doc(responses=[403, 409])
def set_line(mac: str, port: int, json_data: dict[str, Any]) -> Data:
    """Put one of the tenant's accounts on a line key or FXS port (fax mode: ATA ports)."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        account = accounts.get_account(session, json_data["account_id"])
        devices.set_line(session, device, port, account, json_data["fax_mode"] or "",
                         json_data["ring_representative"])  # fmt: skip
        return present.device(device)


@bp.patch("/devices/<mac>/lines/<int:port>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.input(LinePatch)
@bp.output(DeviceOut)
@bp.doc(responses=[403, 404, 409, 422])
def update_line(mac: str, port: int, json_data: dict[str, Any]) -> Data:
    """Switch one line's ringing for the representative numbers, its account staying (a
    customer turns it off for one desk of a phone)."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        changed = devices.set_line_ringing(session, device, port, json_data["ring_representative"])
        return present.device(changed)


@bp.delete("/devices/<mac>/lines/<int:port>")
@bp.auth_required(auth, roles=WAREHOUSE)
@bp.output(DeviceOut)
@bp.doc(responses=[403, 409, 422])
def clear_line(mac: str, port: int) -> Data:
    """Take the account off a line key or FXS port."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        return present.device(devices.clear_line(session, device, port))


@bp.get("/devices/<mac>/timeline")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.input(TimelineQuery, location="query", unknown=RAISE)
@bp.output(EventOut(many=True))
def get_timeline(mac: str, query_data: dict[str, Any]) -> list[Data]:
    """The device's newest events first: fetches, refusals, imports, state changes."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        return [present.event(e) for e in timeline(session, device, query_data["limit"])]


@bp.get("/devices/<mac>/credentials")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(CredentialsOut)
@bp.doc(responses=[403])
def get_credentials(mac: str) -> Data:
    """Read a device's provisioning credentials and admin password (admin only)."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        return vars(devices.credentials(provisioner().box, device))
