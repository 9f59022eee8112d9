"""PoE alerts: found from the stored state after each poll, raised once, cleared when gone.

The kinds are :class:`AlertKind`, a fixed vocabulary: metrics count by it.

While a switch does not answer, its other alerts stay as they were: nothing is known.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import utcnow
from provisioner.db.poe import PoeAlert, PoeCycle, PoeLocation, PoePort, PoeSwitch
from provisioner.domain.poe import cycles
from provisioner.domain.poe.readings import DELIVERING, FAULTS
from provisioner.vendors.facts import POE_ONLY_VENDORS

BUDGET_SHARE = 0.9


class AlertKind(enum.StrEnum):
    """What a PoE alert (``PoeAlert.kind``) is about; the metrics label by it."""

    PORT_FAULT = "port_fault"  # a port reads fault or otherFault (RFC 3621 detection status)
    PSE_BUDGET = "pse_budget"  # a PSE draws more than 90% of its nominal power
    # A device with no power supply of its own (Panasonic desk phones ship without an AC
    # adapter) was last seen on a port that is not delivering power.
    POE_ONLY_UNPOWERED = "poe_only_unpowered"
    DEVICE_DARK = "device_dark"  # a device seen on the switch before is seen nowhere on it now
    SWITCH_UNREACHABLE = "switch_unreachable"  # the switch did not answer its last poll


@dataclass(frozen=True)
class Finding:
    kind: AlertKind
    subject: str
    detail: str
    port_id: int | None = None
    device_id: int | None = None

    @property
    def key(self) -> tuple[str, int | None, int | None, str]:
        return (self.kind, self.port_id, self.device_id, self.subject)


def findings(session: Session, switch: PoeSwitch) -> list[Finding]:
    """What is wrong with an answering switch, from its stored ports and device locations."""
    found = []
    for port in switch.ports:
        if port.detection in FAULTS:
            found.append(
                Finding(AlertKind.PORT_FAULT, port.label, f"PoE {port.detection}", port_id=port.id)
            )
    for pse in switch.pse:
        budget, used = pse.get("budget_w"), pse.get("consumption_w")
        if not (isinstance(budget, int) and isinstance(used, int) and budget > 0):
            continue
        if used > BUDGET_SHARE * budget:
            share = round(100 * used / budget)
            found.append(
                Finding(
                    AlertKind.PSE_BUDGET,
                    f"{switch.name} PSE {pse['group']}",
                    f"drawing {used} W of {budget} W ({share}%, over 90%)",
                )
            )
    cycling = set(
        session.scalars(
            select(PoeCycle.index).where(
                PoeCycle.switch_id == switch.id, PoeCycle.state.in_(cycles.ACTIVE)
            )
        )
    )
    located = session.scalars(
        select(PoeLocation)
        .join(PoePort, PoePort.id == PoeLocation.port_id)
        .where(PoePort.switch_id == switch.id)
    )
    for location in located:
        port, device = location.port, location.device
        if not location.present:
            found.append(
                Finding(
                    AlertKind.DEVICE_DARK,
                    f"{device.mac} on {port.label}",
                    f"{device.model} {device.mac} is no longer seen on {port.label}",
                    port_id=port.id,
                    device_id=device.id,
                )
            )
        if (
            device.vendor in POE_ONLY_VENDORS
            and port.detection != DELIVERING
            and port.index not in cycling
        ):
            found.append(
                Finding(
                    AlertKind.POE_ONLY_UNPOWERED,
                    f"{device.mac} on {port.label}",
                    f"{device.model} has no power supply of its own and {port.label} is "
                    f"{port.detection}",
                    port_id=port.id,
                    device_id=device.id,
                )
            )
    return found


def unreachable(switch: PoeSwitch, error: str) -> Finding:
    return Finding(AlertKind.SWITCH_UNREACHABLE, switch.name, f"no answer: {error}"[:500])


def reconcile(
    session: Session,
    switch: PoeSwitch,
    current: list[Finding],
    kinds: tuple[AlertKind, ...] = tuple(AlertKind),
    now: dt.datetime | None = None,
) -> tuple[list[PoeAlert], list[PoeAlert]]:
    """Raise the findings not yet active, clear the active ones of ``kinds`` not found."""
    now = now or utcnow()
    active = {
        (alert.kind, alert.port_id, alert.device_id, alert.subject): alert
        for alert in session.scalars(
            select(PoeAlert).where(PoeAlert.switch_id == switch.id, PoeAlert.cleared_at.is_(None))
        )
    }
    raised = []
    for finding in current:
        if finding.key in active:
            active.pop(finding.key).detail = finding.detail
            continue
        alert = PoeAlert(
            switch_id=switch.id,
            port_id=finding.port_id,
            device_id=finding.device_id,
            kind=finding.kind,
            subject=finding.subject,
            detail=finding.detail,
            raised_at=now,
        )
        session.add(alert)
        raised.append(alert)
    cleared = [alert for alert in active.values() if alert.kind in kinds]
    for alert in cleared:
        alert.cleared_at = now
    session.flush()
    return raised, cleared


def active_alerts(session: Session, switch_id: int | None = None) -> list[PoeAlert]:
    query = select(PoeAlert).where(PoeAlert.cleared_at.is_(None))
    if switch_id is not None:
        query = query.where(PoeAlert.switch_id == switch_id)
    return list(session.scalars(query.order_by(PoeAlert.raised_at, PoeAlert.id)))
