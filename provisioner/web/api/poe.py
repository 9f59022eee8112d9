"""PoE over the API: switches, their ports and devices, alerts, polls and power-cycles.

The API never speaks SNMP itself: a poll or a power-cycle is recorded here and carried out by
the service's poller (``serve``, within a second), so HTTP workers hold no SNMP engine and a
cycle survives the worker that asked for it. Only admin and support may power-cycle (and a
customer its own phones).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from marshmallow import RAISE

from provisioner.db.models import ApiRole
from provisioner.db.poe import PoeAlert, PoeCycle, PoePort, PoeSwitch
from provisioner.domain.errors import NotFound
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.domain.poe import alerts as poe_alerts
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe import switches as poe_switches
from provisioner.domain.poe.status import bench_poe, switch_ports
from provisioner.snmp.profiles import PROFILES
from provisioner.web.api.auth import ADMIN, ANY_ROLE, SUPPORT_AND_CUSTOMER, auth, caller
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.poe_schemas import (
    AlertOut,
    CycleIn,
    CycleOut,
    CycleQuery,
    DevicePoeOut,
    PollOut,
    SwitchIn,
    SwitchOut,
    SwitchStatusOut,
)
from provisioner.web.api.present import Data, utc

bp = APIBlueprint("poe", __name__, url_prefix=API_PREFIX)
CYCLERS = [ApiRole.ADMIN.value, ApiRole.SUPPORT.value]


def _device_mac(text: str) -> str:
    """A MAC in a path, in any form the sheet takes; a malformed one names no device (404)."""
    try:
        return normalize_mac(text)
    except BadMac as exc:
        raise NotFound(str(exc)) from exc


def _switch(row: PoeSwitch, alerts: list[PoeAlert]) -> Data:
    return {
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "version": row.snmp_version,
        "vendor": row.vendor,
        "site": poe_switches.site(row),
        "poll_interval": row.poll_interval,
        "last_poll_at": utc(row.last_poll_at),
        "last_ok_at": utc(row.last_ok_at),
        "last_error": row.last_error,
        "pse": list(row.pse),
        "active_alerts": sum(1 for alert in alerts if alert.switch_id == row.id),
    }


def _port(row: PoePort) -> Data:
    return {
        "name": row.name,
        "group": row.group,
        "index": row.index,
        "ifindex": row.ifindex,
        "admin_enabled": row.admin_enabled,
        "detection": row.detection,
        "power_class": row.power_class,
        "power_w": None if row.power_mw is None else row.power_mw / 1000,
        "link_up": row.link_up,
        "uplink": row.uplink,
        "macs": list(row.macs),
        "device": row.device.mac if row.device else None,
    }


def _alert(row: PoeAlert) -> Data:
    return {
        "switch": row.switch.name,
        "kind": row.kind,
        "subject": row.subject,
        "detail": row.detail,
        "raised_at": utc(row.raised_at),
    }


def _cycle(session: Any, row: PoeCycle) -> Data:
    return {
        "id": row.id,
        "switch": row.switch.name,
        "port": row.port_name,
        "device": row.device.mac if row.device else None,
        "state": row.state,
        "actor": row.actor,
        "off_seconds": row.off_seconds,
        "requested_at": utc(row.requested_at),
        "off_at": utc(row.off_at),
        "on_at": utc(row.on_at),
        "finished_at": utc(row.finished_at),
        "fetched_at": utc(poe_cycles.fetched_since(session, row)),
        "detail": row.detail,
    }


@bp.post("/poe/switches")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(SwitchIn)
@bp.output(SwitchOut, status_code=201)
@bp.doc(responses=[403, 404, 409])
def add_switch(json_data: dict[str, Any]) -> Data:
    """Add a PoE switch (v2c community or v3 authPriv SHA/AES); secrets are stored encrypted
    and never shown again."""
    fields = {**json_data, "uplinks": tuple(json_data["uplinks"])}
    tenant_id = fields.pop("tenant_id")
    with unit_of_work() as session:
        if tenant_id is not None:
            fields["tenant"] = tenants.get_tenant(session, tenant_id).name
        new = poe_switches.NewSwitch(**fields)
        row = poe_switches.add_switch(session, provisioner().box, new, tuple(PROFILES))
        return _switch(row, [])


@bp.get("/poe/switches")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(SwitchOut(many=True))
def list_switches() -> list[Data]:
    """Every PoE switch with its power budget and active alert count."""
    with unit_of_work() as session:
        alerts = poe_alerts.active_alerts(session)
        return [_switch(row, alerts) for row in poe_switches.list_switches(session)]


@bp.get("/poe/switches/<name>")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(SwitchStatusOut)
def switch_status(name: str) -> Data:
    """A switch's ports (with the device on each) and its active alerts."""
    with unit_of_work() as session:
        row = poe_switches.get_switch(session, name)
        alerts = poe_alerts.active_alerts(session, row.id)
        return {
            **_switch(row, alerts),
            "ports": [_port(port) for port, _ in switch_ports(session, row)],
            "alerts": [_alert(alert) for alert in alerts],
        }


@bp.post("/poe/switches/<name>/actions/poll")
@bp.auth_required(auth, roles=CYCLERS)
@bp.output(PollOut, status_code=202)
@bp.doc(responses=[403])
def poll_switch(name: str) -> Data:
    """Poll the switch now (the service's poller does it within a second)."""
    with unit_of_work() as session:
        poe_switches.poll_soon(poe_switches.get_switch(session, name))
    return {"switch": name, "queued": True}


@bp.get("/poe/alerts")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(AlertOut(many=True))
def list_alerts() -> list[Data]:
    """Active PoE alerts, oldest first."""
    with unit_of_work() as session:
        return [_alert(alert) for alert in poe_alerts.active_alerts(session)]


@bp.post("/poe/switches/<name>/ports/<port>/actions/power-cycle")
@bp.auth_required(auth, roles=CYCLERS)
@bp.input(CycleIn)
@bp.output(CycleOut, status_code=202)
@bp.doc(responses=[403, 409])
def cycle_port(name: str, port: str, json_data: dict[str, Any]) -> Data:
    """Power-cycle a port (by ifName without '/', by index, or GROUP.INDEX): off, wait, on.

    Recorded before anything is sent; follow it with GET /poe/cycles.
    """
    with unit_of_work() as session:
        switch = poe_switches.get_switch(session, name)
        target = poe_cycles.find_port(switch, port.replace(".", "/"))
        row = poe_cycles.request_cycle(session, target, caller().actor, json_data["off_seconds"])
        return _cycle(session, row)


@bp.get("/devices/<mac>/poe")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(DevicePoeOut)
def device_poe(mac: str) -> Data:
    """The PoE switch and port the device was last seen on, its power and active alerts."""
    mac = _device_mac(mac)
    with unit_of_work() as session:
        facts = bench_poe(session, [mac]).get(mac)
    if facts is None:
        raise NotFound(f"device {mac} has not been seen on any polled PoE switch")
    return {**vars(facts), "alerts": list(facts.alerts)}


@bp.post("/devices/<mac>/actions/power-cycle")
@bp.auth_required(auth, roles=SUPPORT_AND_CUSTOMER)
@bp.input(CycleIn)
@bp.output(CycleOut, status_code=202)
@bp.doc(responses=[403, 409])
def cycle_device(mac: str, json_data: dict[str, Any]) -> Data:
    """Power-cycle a device on the PoE port it was last seen on: off, wait, on, and watch it
    draw power and fetch its file again (``fetched_at``). A customer cycles its own phones."""
    mac = _device_mac(mac)
    with unit_of_work() as session:
        devices.get_device(session, mac)  # a customer's own tenant's, else 404 like a missing one
        target = poe_cycles.port_of_device(session, mac)
        row = poe_cycles.request_cycle(session, target, caller().actor, json_data["off_seconds"])
        return _cycle(session, row)


@bp.get("/poe/cycles")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.input(CycleQuery, location="query", unknown=RAISE)
@bp.output(CycleOut(many=True))
def list_cycles(query_data: dict[str, Any]) -> list[Data]:
    """The latest power-cycles, newest first, with how far each got."""
    with unit_of_work() as session:
        rows = poe_cycles.recent_cycles(session, query_data["limit"])
        return [_cycle(session, row) for row in rows]
