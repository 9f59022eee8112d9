"""The device lifecycle: in_stock -> bound -> staged -> shipped -> installed -> retired.

Every transition goes on the device's timeline with who or what caused it. Binding gives a
device its own provisioning credentials (HTTP user and password, Grandstream config key);
binding it to another tenant, or unbinding it, replaces them, so a returned device's old
credentials open nothing.
"""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, DeviceState, Tenant
from provisioner.domain.errors import Conflict
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox, generate_secret


class Action(enum.StrEnum):
    BIND = "bind"
    UNBIND = "unbind"
    STAGE = "stage"
    SHIP = "ship"
    INSTALL = "install"
    RETIRE = "retire"
    RESTOCK = "restock"


S = DeviceState
TRANSITIONS: dict[Action, tuple[frozenset[DeviceState], DeviceState]] = {
    Action.BIND: (frozenset({S.IN_STOCK, S.BOUND}), S.BOUND),
    Action.UNBIND: (frozenset({S.BOUND, S.STAGED, S.SHIPPED, S.INSTALLED}), S.IN_STOCK),
    Action.STAGE: (frozenset({S.BOUND}), S.STAGED),
    Action.SHIP: (frozenset({S.STAGED}), S.SHIPPED),
    Action.INSTALL: (frozenset({S.SHIPPED}), S.INSTALLED),
    Action.RETIRE: (frozenset(set(S) - {S.RETIRED}), S.RETIRED),
    Action.RESTOCK: (frozenset({S.RETIRED}), S.IN_STOCK),
}


class LifecycleError(Conflict):
    """The action does not apply to the device in its current state (says what would)."""


def apply(
    session: Session,
    box: SecretBox,
    device: Device,
    action: Action,
    actor: str,
    tenant: Tenant | None = None,
) -> None:
    """Move the device, record it, and rotate credentials where the action calls for it."""
    allowed, target = TRANSITIONS[action]
    if device.state not in allowed:
        states = ", ".join(sorted(state.value for state in allowed))
        raise LifecycleError(
            f"cannot {action} device {device.mac} in state {device.state}; "
            f"{action} applies to: {states}"
        )
    detail = f"{device.state} -> {target}"
    if action is Action.BIND:
        if tenant is None:
            raise LifecycleError(f"bind needs a tenant for device {device.mac}")
        if device.tenant_id is not None and device.tenant_id != tenant.id:
            # The lines hold the old tenant's SIP accounts: they do not move with the device.
            detail += f"; moved from {device.tenant.name if device.tenant else '?'}"
            device.lines.clear()
            device.caller_id_number = None
            issue_credentials(box, device)
        elif device.http_password_encrypted is None:
            issue_credentials(box, device)
        device.tenant = tenant
        detail += f"; bound to {tenant.name}"
    elif action in (Action.UNBIND, Action.RESTOCK):
        if device.tenant is not None:
            detail += f"; unbound from {device.tenant.name}"
        device.tenant = None
        device.caller_id_number = None
        device.lines.clear()
        issue_credentials(box, device)
    device.state = target
    session.add(DeviceEvent(device=device, kind=EventKind.STATE, actor=actor, detail=detail))


def issue_credentials(box: SecretBox, device: Device) -> None:
    """New HTTP credentials and config key: the old ones stop working at once."""
    device.http_user = f"d{device.mac}"
    device.http_password_encrypted = box.encrypt(generate_secret(24))
    device.config_key_encrypted = box.encrypt(generate_secret(32))
