"""What people see of PoE: a device's switch, port, power and alerts (the staging bench view,
the CLI and the API read this), and a switch's ports with their devices."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from provisioner.db.models import Device
from provisioner.db.poe import PoeAlert, PoeLocation, PoePort, PoeSwitch


@dataclass(frozen=True)
class PoeFacts:
    """One device's PoE picture, in short strings for a table cell."""

    switch: str
    port: str
    label: str  # "bench-sw Gi1/0/5"
    present: bool  # seen there in the last poll
    detection: str  # deliveringPower, searching, fault, ...
    power_w: float | None  # None: the switch does not report per-port power
    power_class: int | None
    alerts: tuple[str, ...]  # "port_fault: PoE fault", ...


def bench_poe(session: Session, macs: list[str]) -> dict[str, PoeFacts]:
    """PoE facts of the devices (MACs, 12 hex) that were seen on a polled switch; the others
    are left out. For the staging page's bench view (issue 4)."""
    if not macs:
        return {}
    rows = session.execute(
        select(Device.mac, Device.id, PoeLocation)
        .join(PoeLocation, PoeLocation.device_id == Device.id)
        .where(Device.mac.in_(macs))
    ).all()
    port_ids = {location.port_id for _, _, location in rows}
    device_ids = {device_id for _, device_id, _ in rows}
    alerts = session.scalars(
        select(PoeAlert).where(
            PoeAlert.cleared_at.is_(None),
            or_(PoeAlert.port_id.in_(port_ids), PoeAlert.device_id.in_(device_ids)),
        )
    ).all()
    facts = {}
    for mac, device_id, location in rows:
        port = location.port
        mine = tuple(
            f"{alert.kind}: {alert.detail}"
            for alert in alerts
            if alert.device_id == device_id or (alert.port_id == port.id and not alert.device_id)
        )
        facts[mac] = PoeFacts(
            switch=port.switch.name,
            port=port.name,
            label=port.label,
            present=location.present,
            detection=port.detection,
            power_w=None if port.power_mw is None else round(port.power_mw / 1000, 1),
            power_class=port.power_class,
            alerts=mine,
        )
    return facts


def poe_line(facts: PoeFacts) -> str:
    """One line for a person: "PoE: bench Gi1/0/5, deliveringPower, 3.8 W; alerts: ..."."""
    where = facts.label if facts.present else f"last seen on {facts.label}"
    watts = "" if facts.power_w is None else f", {facts.power_w} W"
    alerts = f"; alerts: {'; '.join(facts.alerts)}" if facts.alerts else ""
    return f"PoE: {where}, {facts.detection}{watts}{alerts}"


def switch_ports(session: Session, switch: PoeSwitch) -> list[tuple[PoePort, Device | None]]:
    ports = session.scalars(
        select(PoePort).where(PoePort.switch_id == switch.id).order_by(PoePort.group, PoePort.index)
    ).all()
    return [(port, port.device) for port in ports]


def drawn_w(switch: PoeSwitch) -> tuple[int | None, int | None]:
    """(consumption, budget) in W over all PSEs of the last answered poll."""
    used = [p["consumption_w"] for p in switch.pse if isinstance(p.get("consumption_w"), int)]
    budget = [p["budget_w"] for p in switch.pse if isinstance(p.get("budget_w"), int)]
    return (sum(used) if used else None, sum(budget) if budget else None)  # type: ignore[arg-type]
