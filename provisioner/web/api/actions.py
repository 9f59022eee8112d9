"""Lifecycle actions on a device, one operation each, as the lifecycle's transitions allow.

An action the device's state does not allow is 409 naming the states it applies to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint

from provisioner.domain.errors import Conflict
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import TRANSITIONS, Action
from provisioner.domain.staging.bench_view import never_fetched_on_bench
from provisioner.web.api import present
from provisioner.web.api.auth import ADMIN, WAREHOUSE, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.schemas import BindIn, DeviceOut

bp = APIBlueprint("lifecycle", __name__, url_prefix=API_PREFIX)

# Installing is proven by the device's first fetch from the customer; retiring ends a rental.
ROLES = dict.fromkeys(Action, WAREHOUSE) | {Action.INSTALL: ADMIN, Action.RETIRE: ADMIN}
_BACK_TO_STOCK = "Lines and caller ID are cleared, provisioning credentials replaced."
NOTES = {
    Action.UNBIND: _BACK_TO_STOCK,
    Action.STAGE: "The device fetched its config on the bench and proved it (409 if it never "
    "did since it was bound: it would reach the customer without its credentials).",
    Action.SHIP: "The device left the warehouse for the customer (409 if it never fetched on "
    "the bench since it was bound).",
    Action.INSTALL: "Normally recorded by the first fetch from the customer's network.",
    Action.RETIRE: "Out of service until restocked.",
    Action.RESTOCK: _BACK_TO_STOCK,
}


def _summary(action: Action) -> str:
    allowed, target = TRANSITIONS[action]
    states = ", ".join(sorted(state.value for state in allowed))
    return f"{action.value.capitalize()} a device: {states} -> {target.value}"


def _act(mac: str, action: Action, tenant_id: int | None = None) -> Data:
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        tenant = tenants.get_tenant(session, tenant_id) if tenant_id is not None else None
        if action in (Action.STAGE, Action.SHIP) and device.state in TRANSITIONS[action][0]:
            refusal = never_fetched_on_bench(session, device, provisioner().staging)
            if refusal is not None:
                raise Conflict(refusal)
        devices.act(session, provisioner().box, device, action, caller().actor, tenant)
        return present.device(device)


@bp.post("/devices/<mac>/actions/bind")
@bp.auth_required(auth, roles=ROLES[Action.BIND])
@bp.input(BindIn)
@bp.output(DeviceOut)
@bp.doc(summary=_summary(Action.BIND), responses=[403, 409])
def bind(mac: str, json_data: dict[str, Any]) -> Data:
    """Bind to a tenant.

    The device gets provisioning credentials of its own. One bound to another tenant has to be
    unbound first (409 until then).
    """
    return _act(mac, Action.BIND, json_data["tenant_id"])


def _action_view(action: Action) -> Callable[[str], Data]:
    def view(mac: str) -> Data:
        return _act(mac, action)

    view.__name__ = action.value
    view.__doc__ = f"{_summary(action)}\n\n{NOTES[action]}"
    decorators = (
        bp.post(f"/devices/<mac>/actions/{action.value}"),
        bp.auth_required(auth, roles=ROLES[action]),
        bp.output(DeviceOut),
        bp.doc(responses=[403, 409]),
    )
    for decorate in reversed(decorators):
        view = decorate(view)
    return view


for _action in Action:
    if _action is not Action.BIND:
        _action_view(_action)
