"""``provisioner fleet status``: how much of the fleet runs the file it would get now."""

from __future__ import annotations

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, minute, pass_cli, service_options
from provisioner.domain.operations.convergence import Convergence, Figures, convergence


@click.group()
def fleet() -> None:
    """The fleet as a whole."""


@fleet.command("status")
@click.option("--tenant", help="Only this tenant's devices.")
@click.option("--limit", default=20, show_default=True, help="Behind devices to list.")
@service_options
@pass_cli
def status(cli: CliContext, tenant: str | None, limit: int) -> None:
    """Devices current, behind (longest first) and never fetched, per tenant and per model."""
    found = convergence(cli.service.provisioner, tenant)
    out = console()
    table = Table("", *(state.value for state in Convergence))
    rows: list[tuple[str, Figures]] = [("fleet", found.fleet)]
    rows += [(f"tenant {name}", value) for name, value in sorted(found.tenants.items())]
    rows += [(f"model {name}", value) for name, value in sorted(found.models.items())]
    for name, figures in rows:
        table.add_row(name, *(str(count) for count in figures.as_dict().values()))
    out.print(table)
    if found.behind and limit:
        behind = Table("mac", "tenant", "model", "fetched", "behind since")
        for device in found.behind[:limit]:
            behind.add_row(device.mac, device.tenant or "-", device.model,
                           minute(device.fetched_at), minute(device.behind_since))  # fmt: skip
        out.print(behind)
