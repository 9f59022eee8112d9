"""``provisioner import``: a provisioning sheet (CSV) into the inventory, all rows or none."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from provisioner.app.service import Service
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.db.actor import acting, current
from provisioner.domain import audit
from provisioner.domain.inventory.sheet import ImportReport, SheetError, import_sheet


@click.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@service_options
@pass_cli
def import_command(cli: CliContext, sheet: Path, dry_run: bool) -> None:
    """Import a provisioning sheet (CSV): all rows or none."""
    service = cli.service
    err = console(stderr=True)
    data = sheet.read_bytes()
    total = max(data.count(b"\n") - 1, 1)
    with acting(current().within(door="import")):
        report = _import(service, sheet, data, total, dry_run, err)
    _print_report(err, sheet, report, dry_run)
    if not report.ok:
        sys.exit(1)


def _import(
    service: Service, sheet: Path, data: bytes, total: int, dry_run: bool, err: Console
) -> ImportReport:
    """All rows in one transaction (their history with them), or one failure record."""
    try:
        with (
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=total < 500,
            ) as bar,
            service.db.session() as session,
        ):
            task = bar.add_task("checking and writing", total=total * 2)
            report = import_sheet(
                session,
                service.box,
                data,
                dry_run=dry_run,
                actor=f"import {sheet.name}",
                progress=lambda n: bar.advance(task, n),
            )
    except SheetError as exc:
        if not dry_run:
            audit.record_failure(service.db, f"import {sheet.name}", str(exc))
        raise SheetError(f"{sheet}: {exc}") from exc  # named as the bad rows are: FILE: ...
    if not report.ok and not dry_run:
        reasons = "; ".join(f"line {e.line}: {e.reason}" for e in report.errors[:20])
        summary = f"{len(report.errors)} bad row(s) of {report.rows}: {reasons}"
        audit.record_failure(service.db, f"import {sheet.name}", summary)
    return report


def _print_report(err: Console, sheet: Path, report: ImportReport, dry_run: bool) -> None:
    if not report.ok:
        for error in report.errors:
            err.print(f"{sheet}:{error.line}: {error.reason}", markup=False, soft_wrap=True)
        err.print(f"[red]{len(report.errors)} bad row(s) of {report.rows}: nothing was written.")
        return
    verb = "would create" if dry_run else "created"
    err.print(
        f"{report.rows} rows: {verb} {report.tenants_created} tenant(s), "
        f"{report.accounts_created} account(s), {report.devices_created} device(s), "
        f"{report.representative_numbers_created} representative number(s); "
        f"{report.devices_updated} device(s) updated"
        + (" (dry run: nothing written)" if dry_run else ".")
    )
