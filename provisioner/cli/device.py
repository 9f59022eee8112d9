"""``provisioner device show`` and ``provisioner render``: a device as the inventory and its
timeline see it, and the file it would get."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from provisioner.cli.context import CliContext, console, mac_argument, pass_cli, service_options
from provisioner.domain.delivery.resync import timeline_text
from provisioner.domain.inventory import devices, re_enrol
from provisioner.domain.inventory.lookup import load_device, timeline
from provisioner.domain.poe.status import bench_poe, poe_line
from provisioner.domain.registrations.doctor import diagnose
from provisioner.domain.registrations.status import device_lines


@click.command()
@click.argument("mac")
@click.argument("filename", required=False)
@service_options
@pass_cli
def render(cli: CliContext, mac: str, filename: str | None) -> None:
    """Print the file a device would get (its own config unless FILENAME says otherwise)."""
    sys.stdout.buffer.write(cli.service.provisioner.preview(mac_argument(mac), filename))


@click.group()
def device() -> None:
    """Look at devices."""


@device.command("show")
@click.argument("mac")
@click.option("--limit", default=50, show_default=True, help="Timeline entries to show.")
@service_options
@pass_cli
def device_show(cli: CliContext, mac: str, limit: int) -> None:
    """The device, its lines, their PBX registrations and its timeline (newest first)."""
    mac = mac_argument(mac)
    out = console()
    with cli.session() as session:
        found = load_device(session, mac)
        if found is None:
            raise click.ClickException(f"no device {mac} in the inventory")
        tenant = found.tenant.name if found.tenant else "-"
        out.print(
            f"[bold]{found.mac}[/] {found.vendor} {found.model} ({found.kind}) "
            f"state={found.state} tenant={tenant} firmware={found.firmware_version or '-'}"
        )
        poe = bench_poe(session, [found.mac]).get(found.mac)
        if poe is not None:
            out.print(escape(poe_line(poe)))
        lines = Table("port", "extension", "direct number", "display name", "SIP user", "fax")
        for line in found.lines:
            account = line.account
            lines.add_row(
                str(line.port),
                account.extension,
                account.direct_number or "-",
                account.display_name,
                account.sip_username,
                line.fax_mode or "-",
            )
        out.print(lines)
        registrations = Table("port", "PBX registration", "core", "source", "User-Agent", "expires")
        for status in device_lines(session, found, cli.settings.pbx_readers):
            registrations.add_row(
                str(status.port),
                status.state,
                escape(status.core or "-"),
                escape(status.source or "-"),
                escape(status.user_agent or "-"),
                f"{status.expires_at:%H:%M:%S}" if status.expires_at else "-",
            )
        out.print(registrations)
        events = Table("time (UTC)", "kind", "by", "proto", "file", "source", "status", "firmware")
        for event in timeline(session, found, limit):
            events.add_row(
                event.at.strftime("%Y-%m-%d %H:%M:%S"),
                event.kind,
                escape(event.actor or ""),
                event.protocol or "",
                escape(timeline_text(session, event)),
                event.source or "",
                str(event.status or ""),
                event.firmware or "",
            )
        out.print(events)


@device.command("doctor")
@click.argument("mac")
@service_options
@pass_cli
def device_doctor(cli: CliContext, mac: str) -> None:
    """Why a phone may have no dial tone: the most likely cause and the next step."""
    with cli.session() as session:
        found = devices.get_device(session, mac_argument(mac))
        answer = diagnose(session, found, cli.settings.pbx_readers)
        out = console()
        out.print(f"[bold]{found.mac}[/]: {answer.cause}")
        out.print(escape(answer.ja))
        out.print(escape(answer.en))
        for fact in answer.facts:
            out.print(f"  - {escape(fact)}")


@device.command("re-enrol")
@click.argument("mac")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, re_enrol.MAX_HOURS))
@click.option("--reason", required=True, help="What happened on site (on the timeline).")
@service_options
@pass_cli
def device_re_enrol(cli: CliContext, mac: str, hours: int, reason: str) -> None:
    """Rotate an installed device's credentials; ONE fetch without them, from its tenant's
    networks within HOURS, gets the file with the new ones (a phone reset on site)."""
    with cli.session() as session:
        found = devices.get_device(session, mac_argument(mac))
        until = re_enrol.arm(session, cli.service.box, found, hours, reason, "cli")
        console().print(
            f"{found.mac}: one fetch from its tenant's networks until {until:%Y-%m-%d %H:%M} UTC"
        )
