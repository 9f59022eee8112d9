"""Resync: ask a device by SIP NOTIFY to fetch its file now (admin and support).

A device that does not answer 2xx is not an API error: the answer is in the body and on the
device's timeline, where the following fetch shows whether it took the new file.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from provisioner.domain.delivery.resync import parse_target, resync_device
from provisioner.domain.errors import NotFound
from provisioner.domain.inventory import devices
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.sip.notify import send_notify
from provisioner.web.api.auth import SUPPORT_AND_CUSTOMER, auth, caller, is_customer
from provisioner.web.api.context import API_PREFIX, provisioner
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import ResyncIn, ResyncOut

bp = APIBlueprint("resync", __name__, url_prefix=API_PREFIX)
API_TIMEOUT = 10.0  # seconds: an HTTP client will not wait for SIP's full 32


@bp.post("/devices/<mac>/actions/resync")
@bp.auth_required(auth, roles=SUPPORT_AND_CUSTOMER)
@bp.input(ResyncIn)
@bp.output(ResyncOut)
@bp.doc(summary="Send the device its vendor's resync NOTIFY", responses=[403, 404, 409, 422])
def resync(mac: str, json_data: dict[str, Any]) -> Data:
    """Check-sync (with the vendor's reboot flag only when asked), to ``to`` or the address
    of the device's newest fetch, port 5060."""
    try:
        mac = normalize_mac(mac)
    except BadMac as exc:
        raise NotFound(str(exc)) from exc
    if is_customer():
        if json_data.get("to"):
            raise NotFound("a customer resyncs its phone at its known address; leave 'to' out")
        with provisioner().db.session() as session:
            devices.get_device(session, mac)  # its own tenant's, else 404 like a missing one
    target = parse_target(json_data["to"]) if json_data.get("to") else None
    result = resync_device(
        provisioner(),
        mac,
        send_notify,
        target=target,
        reboot=json_data["reboot"],
        actor=caller().actor,
        timeout=API_TIMEOUT,
    )
    return {
        "mac": result.mac,
        "target": str(result.target),
        "event": result.event,
        "sha256": result.sha256,
        "status": result.answer.status,
        "answer": str(result.answer),
        "accepted": result.answer.ok,
    }
