"""On-site re-enrolment: a reset phone at the customer's gets its credentials back (issue 13).

See ``provisioner.domain.inventory.re_enrol``: the credentials rotate at once and one fetch
without credentials, from the tenant's allowed networks, within the window, carries the new ones.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from provisioner.domain.inventory import devices, re_enrol
from provisioner.web.api.auth import SUPPORT, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import ReEnrolIn, ReEnrolOut

bp = APIBlueprint("re_enrol", __name__, url_prefix=API_PREFIX)


@bp.post("/devices/<mac>/actions/re-enrol")
@bp.auth_required(auth, roles=SUPPORT)
@bp.input(ReEnrolIn)
@bp.output(ReEnrolOut)
@bp.doc(summary="Re-enrol an installed device on site", responses=[403, 409, 422])
def re_enrol_device(mac: str, json_data: dict[str, Any]) -> Data:
    """Rotate the device's provisioning credentials and let ONE fetch without credentials,
    from its tenant's allowed networks, within `hours`, get the file with the new ones.

    For a phone factory-reset at the customer's: a second fetch, one from elsewhere, or one
    after the window gets the usual 401.
    """
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        until = re_enrol.arm(
            session, provisioner().box, device, json_data["hours"], json_data["reason"],
            caller().actor,
        )  # fmt: skip
        return {"mac": device.mac, "until": until}
