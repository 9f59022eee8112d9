"""``provisioner audit``: the request history on the server, as a table or as CSV (the same
records as ``GET /api/v1/audit``)."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, minute, pass_cli, service_options
from provisioner.domain import audit as history
from provisioner.domain.inventory import tenants


@click.command("audit")
@click.option("--tenant", "tenant_name", metavar="NAME", help="Only this tenant's records.")
@click.option("--object-type", metavar="TABLE", help="Only this kind (devices, accounts, ...).")
@click.option("--failed", is_flag=True, help="Only refused changes.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (UTF-8 with BOM).")
@service_options
@pass_cli
def audit_command(
    cli: CliContext,
    tenant_name: str | None,
    object_type: str | None,
    failed: bool,
    limit: int,
    as_csv: bool,
) -> None:
    """The newest changes first: who, when, what (before -> after), how, and the result."""
    with cli.session() as session:
        wanted = history.AuditFilter(
            tenant_id=tenants.tenant_id_named(session, tenant_name) if tenant_name else None,
            object_type=object_type,
            result=history.Outcome.FAILED.value if failed else None,
        )
        records, total = history.list_records(session, wanted, limit=limit)
        if as_csv:
            sys.stdout.write("\ufeff" + history.to_csv(records))
            return
        table = Table("at (UTC)", "actor", "door", "object", "change", "result")
        for record in records:
            changes = "; ".join(
                f"{field}: {json.dumps(values[0], ensure_ascii=False)} -> "
                f"{json.dumps(values[1], ensure_ascii=False)}"
                for field, values in record.changes.items()
            )
            table.add_row(
                minute(record.at),
                record.actor,
                record.door,
                f"{record.object_type} {record.object_label or record.object_id or ''}",
                changes or (record.detail or ""),
                record.result,
            )
    console().print(table)
    console(stderr=True).print(f"{len(records)} of {total} record(s)")
