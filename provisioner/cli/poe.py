"""``provisioner poe``: PoE switches, their ports and devices, alerts, power-cycles."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from provisioner.app.service import Service
from provisioner.cli.context import (
    CliContext,
    console,
    mac_argument,
    pass_cli,
    service_options,
)
from provisioner.db.poe import PoeCycle
from provisioner.domain.poe import alerts as poe_alerts
from provisioner.domain.poe import cycles as poe_cycles
from provisioner.domain.poe import switches as poe_switches
from provisioner.domain.poe.status import drawn_w, switch_ports
from provisioner.snmp.errors import SnmpError
from provisioner.snmp.profiles import AUTO, PROFILES, SYS_OBJECT_ID, profile_for

if TYPE_CHECKING:
    from provisioner.snmp.poller import PoePoller

T = TypeVar("T")
VENDORS = (AUTO, *PROFILES)


def _with_poller(service: Service, work: Callable[[PoePoller], Coroutine[Any, Any, T]]) -> T:
    from provisioner.snmp.poller import PoePoller  # pysnmp takes 0.4 s to import: on use only

    async def run() -> T:
        poller = PoePoller(service.db, service.box)
        try:
            return await work(poller)
        finally:
            poller.close()

    return asyncio.run(run())


@click.group("poe")
def poe() -> None:
    """PoE switches: add, list, poll, status, power-cycle."""


@poe.command("add")
@click.argument("name")
@click.option("--host", required=True, help="Address of the switch's SNMP agent.")
@click.option("--port", "snmp_port", default=161, show_default=True, type=click.IntRange(1, 65535))
@click.option("--vendor", type=click.Choice(VENDORS), default=AUTO, show_default=True,
              help="Vendor profile; auto reads sysObjectID.")  # fmt: skip
@click.option("--community", envvar="PROVISIONER_SNMP_COMMUNITY",
              help="v2c community with write access ($PROVISIONER_SNMP_COMMUNITY).")  # fmt: skip
@click.option("--v3-user", help="SNMP v3 user (authPriv, SHA and AES-128).")
@click.option("--auth-key", envvar="PROVISIONER_SNMP_AUTH_KEY", help="v3 SHA key ($...AUTH_KEY).")
@click.option("--priv-key", envvar="PROVISIONER_SNMP_PRIV_KEY", help="v3 AES key ($...PRIV_KEY).")
@click.option("--context", default="", help="v3 context name.")
@click.option("--tenant", help="The tenant whose site it is (default: the warehouse bench).")
@click.option("--interval", default=60, show_default=True, help="Seconds between polls.")
@click.option("--port-map", "port_map", multiple=True, metavar="GROUP.PORT=IFINDEX",
              help="Where the profile maps a PSE port wrongly (repeatable).")  # fmt: skip
@click.option("--uplink", "uplinks", multiple=True, metavar="IFNAME",
              help="An uplink whatever it carries (repeatable).")  # fmt: skip
@service_options
@pass_cli
def add(
    cli: CliContext,
    name: str,
    host: str,
    snmp_port: int,
    vendor: str,
    community: str | None,
    v3_user: str | None,
    auth_key: str | None,
    priv_key: str | None,
    context: str,
    tenant: str | None,
    interval: int,
    port_map: tuple[str, ...],
    uplinks: tuple[str, ...],
) -> None:
    """Add a switch; its SNMP secrets are stored encrypted."""
    mapping = {}
    for item in port_map:
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise click.BadParameter(f"{item!r}: use GROUP.PORT=IFINDEX", param_hint="--port-map")
        mapping[key] = int(value)
    new = poe_switches.NewSwitch(
        name=name,
        host=host,
        vendor=vendor,
        version="3" if v3_user else "2c",
        port=snmp_port,
        community=community or "",
        user=v3_user or "",
        auth_key=auth_key or "",
        priv_key=priv_key or "",
        context=context,
        tenant=tenant,
        poll_interval=interval,
        port_map=mapping,
        uplinks=uplinks,
    )
    service = cli.service
    if vendor == AUTO:
        new = _detect_vendor(service, new)
    with service.db.session() as session:
        switch = poe_switches.add_switch(session, service.box, new, tuple(PROFILES))
        click.echo(f"added {switch.name} ({switch.vendor}, SNMP v{switch.snmp_version}, "
                   f"{switch.host}:{switch.port}, {poe_switches.site(switch)})")  # fmt: skip


def _detect_vendor(service: Service, new: poe_switches.NewSwitch) -> poe_switches.NewSwitch:
    probe = poe_switches.SnmpAccess(new.host, new.port, new.version, new.community, new.user,
                                    new.auth_key, new.priv_key, new.context)  # fmt: skip

    async def ask(poller: PoePoller) -> Any:
        from provisioner.snmp.poller import agent_for

        agent = agent_for(probe, poller.timeout, poller.retries)
        return (await poller.client.get(agent, [SYS_OBJECT_ID]))[0]

    try:
        found = _with_poller(service, ask)
    except SnmpError as exc:
        raise click.ClickException(
            f"cannot read sysObjectID to pick the vendor ({exc}); check the address and "
            "credentials, or give --vendor"
        ) from exc
    chosen = profile_for(found if isinstance(found, str) else None)
    click.echo(f"sysObjectID {found}: vendor profile {chosen.name}")
    return poe_switches.NewSwitch(**{**vars(new), "vendor": chosen.name})


@poe.command("list")
@service_options
@pass_cli
def list_command(cli: CliContext) -> None:
    """Every switch: where it is, when it last answered, power drawn, active alerts."""
    table = Table("name", "address", "SNMP", "vendor", "site", "every", "last answer", "ports",
                  "W drawn/budget", "alerts")  # fmt: skip
    with cli.session() as session:
        alerts = poe_alerts.active_alerts(session)
        for switch in poe_switches.list_switches(session):
            used, budget = drawn_w(switch)
            table.add_row(
                escape(switch.name),
                f"{switch.host}:{switch.port}",
                f"v{switch.snmp_version}",
                switch.vendor,
                escape(poe_switches.site(switch)),
                f"{switch.poll_interval}s",
                _time(switch.last_ok_at),
                str(len(switch.ports)),
                f"{_w(used)}/{_w(budget)}",
                str(sum(1 for alert in alerts if alert.switch_id == switch.id)),
            )
    console().print(table)


def _time(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "never"


def _w(value: int | None) -> str:
    return "-" if value is None else str(value)


@poe.command("poll")
@click.argument("names", nargs=-1)
@service_options
@pass_cli
def poll(cli: CliContext, names: tuple[str, ...]) -> None:
    """Poll switches now (all, or NAMES), and finish power-cycles a stopped service left."""
    with cli.session() as session:
        for name in names:
            poe_switches.get_switch(session, name)
        cycles = poe_cycles.open_cycles(session)

    async def work(poller: PoePoller) -> tuple[list[Any], list[str]]:
        finished = await asyncio.gather(*(poller.run_cycle(c) for c in cycles))
        return await poller.poll(list(names) or None), finished

    results, finished = _with_poller(cli.service, work)
    for cycle_id, state in zip(cycles, finished, strict=True):
        click.echo(f"power-cycle {cycle_id} left open by a stopped service: {state}")
    for result in results:
        if result.ok:
            click.echo(f"{result.switch}: {result.ports} ports, {result.varbinds} values "
                       f"in {result.seconds * 1000:.0f} ms")  # fmt: skip
        else:
            click.echo(f"{result.switch}: no answer: {result.error}")
        for event in result.events:
            click.echo(f"  {event}")
    if any(not result.ok for result in results):
        sys.exit(1)


@poe.command("status")
@click.argument("name", required=False)
@service_options
@pass_cli
def status(cli: CliContext, name: str | None) -> None:
    """A switch's ports with their devices and alerts; without NAME, every active alert and
    the latest power-cycles."""
    out = console()
    with cli.session() as session:
        switch_id = None
        if name is not None:
            switch = poe_switches.get_switch(session, name)
            switch_id = switch.id
            out.print(_ports_table(session, switch))
        alerts = Table("raised (UTC)", "kind", "subject", "detail", title="active alerts")
        for alert in poe_alerts.active_alerts(session, switch_id):
            alerts.add_row(alert.raised_at.strftime("%Y-%m-%d %H:%M:%S"), alert.kind,
                           escape(alert.subject), escape(alert.detail))  # fmt: skip
        out.print(alerts)
        if name is None:
            out.print(_cycles_table(session, poe_cycles.recent_cycles(session)))


def _ports_table(session: Any, switch: Any) -> Table:
    used, budget = drawn_w(switch)
    table = Table("port", "ifIndex", "admin", "detection", "class", "W", "link", "device",
                  "MACs", title=f"{escape(switch.name)}: {_w(used)} W of {_w(budget)} W"
                  + (f" - last poll failed: {escape(switch.last_error)}"
                     if switch.last_error else ""))  # fmt: skip
    for port, device in switch_ports(session, switch):
        table.add_row(
            port.name,
            str(port.ifindex or "-"),
            "on" if port.admin_enabled else "off",
            port.detection,
            "-" if port.power_class is None else str(port.power_class),
            "-" if port.power_mw is None else f"{port.power_mw / 1000:.1f}",
            {True: "up", False: "down", None: "-"}[port.link_up],
            f"{device.mac} {device.model}" if device else "",
            "uplink" if port.uplink else str(len(port.macs)),
        )
    return table


def _cycles_table(session: Any, cycles: list[PoeCycle]) -> Table:
    table = Table("id", "switch", "port", "state", "by", "requested (UTC)", "detail",
                  "fetched after", title="power-cycles")  # fmt: skip
    for cycle in cycles:
        fetched = poe_cycles.fetched_since(session, cycle)
        table.add_row(
            str(cycle.id),
            escape(cycle.switch.name),
            cycle.port_name,
            cycle.state,
            escape(cycle.actor),
            cycle.requested_at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(cycle.detail or ""),
            fetched.strftime("%H:%M:%S") if fetched else "-",
        )
    return table


@poe.command("cycle")
@click.argument("target", nargs=-1, required=True, metavar="(MAC | SWITCH PORT)")
@click.option("--off", "off_seconds", default=poe_cycles.DEFAULT_OFF, show_default=True,
              type=click.IntRange(poe_cycles.MIN_OFF, poe_cycles.MAX_OFF),
              help="Seconds without power.")  # fmt: skip
@click.option("--no-wait", is_flag=True, help="Only record it; the running service does it.")
@service_options
@pass_cli
def cycle(
    cli: CliContext,
    target: tuple[str, ...],
    off_seconds: int,
    no_wait: bool,
) -> None:
    """Power-cycle a device (by MAC, on the port it was last seen on) or a switch port."""
    with cli.session() as session:
        if len(target) == 1:
            mac = mac_argument(target[0])
            port = poe_cycles.port_of_device(session, mac)
        elif len(target) == 2:
            port = poe_cycles.find_port(poe_switches.get_switch(session, target[0]), target[1])
        else:
            raise click.UsageError("give a MAC, or a switch name and a port")
        owner = None if no_wait else poe_cycles.lease_owner()
        created = poe_cycles.request_cycle(session, port, "cli", off_seconds, owner)
        cycle_id, label = created.id, port.label
    click.echo(f"power-cycle {cycle_id} of {label} recorded")
    if no_wait:
        return
    state = _with_poller(cli.service, lambda poller: poller.run_cycle(cycle_id))
    with cli.session() as session:
        done = poe_cycles.get_cycle(session, cycle_id)
        click.echo(f"power-cycle {cycle_id}: {done.state}: {done.detail}")
    if state != poe_cycles.CycleState.DONE:
        sys.exit(1)
