"""``provisioner device show`` and ``provisioner render``: a device as the inventory and its
timeline see it, and the file it would get."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from provisioner.cli.context import CliContext, console, mac_argument, pass_cli, service_options
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.resync import timeline_text
from provisioner.domain.inventory.lookup import load_device, timeline
from provisioner.domain.poe.status import bench_poe, poe_line
from provisioner.vendors import all_models, vendor


@click.command()
@click.argument("mac")
@click.argument("filename", required=False)
@service_options
@pass_cli
def render(cli: CliContext, mac: str, filename: str | None) -> None:
    """Print the file a device would get (its own config unless FILENAME says otherwise)."""
    mac = mac_argument(mac)
    service = cli.service
    try:
        with service.db.session() as session:
            device = load_device(session, mac)
            if device is None:
                raise click.ClickException(f"no device {mac} in the inventory")
            model = next((m for m in all_models() if m.model == device.model), None)
            if model is None:  # a gateway fetches JSON, not a vendor file
                raise click.ClickException(
                    f"{mac} is a {device.model}: see 'provisioner gateway config {mac}'"
                )
        name = filename or vendor(device.vendor).device_filename(mac, model)
        service.provisioner.timeline = None  # rendering for a person is not a device fetch
        delivery = service.provisioner.deliver(Fetch(path=name, protocol="cli", source="cli"))
    finally:
        service.close()
    if delivery.outcome is not Outcome.SERVED:
        raise click.ClickException(f"{name}: {delivery.outcome.value} ({delivery.reason})")
    sys.stdout.buffer.write(delivery.body)


@click.group()
def device() -> None:
    """Look at devices."""


@device.command("show")
@click.argument("mac")
@click.option("--limit", default=50, show_default=True, help="Timeline entries to show.")
@service_options
@pass_cli
def device_show(cli: CliContext, mac: str, limit: int) -> None:
    """The device, its lines and its timeline (newest first)."""
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
