"""``provisioner phonebook import TENANT FILE.csv`` (a tenant's phonebook) and ``provisioner keys
import FILE.csv`` (devices' keys): what the phones show beyond their lines, all rows or none."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.db.models import Tenant
from provisioner.domain.inventory.tenants import tenant_id_named
from provisioner.domain.keys.sheet import KeysSheetError, import_keys
from provisioner.domain.phonebook.book import PhonebookError, import_phonebook


@click.group()
def phonebook() -> None:
    """A tenant's phonebook, fetched by its phones."""


@phonebook.command("import")
@click.argument("tenant")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@service_options
@pass_cli
def import_book(cli: CliContext, tenant: str, sheet: Path) -> None:
    """Replace TENANT's phonebook with SHEET (UTF-8 CSV: name,reading,group,office,mobile,home)."""
    err = console(stderr=True)
    try:
        with cli.service.db.session() as session:
            row = session.get(Tenant, tenant_id_named(session, tenant))
            assert row is not None  # tenant_id_named found it
            report = import_phonebook(session, row, sheet.read_bytes())
    except PhonebookError as error:
        for message in error.errors:
            err.print(f"{sheet}: {message}", markup=False, soft_wrap=True)
        err.print(f"[red]{len(error.errors)} problem(s): nothing was written.")
        sys.exit(1)
    console().print(f"{report.entries} entries in the phonebook of {report.tenant}")


@click.group()
def keys() -> None:
    """Devices' programmable keys."""


@keys.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@service_options
@pass_cli
def import_key_sheet(cli: CliContext, sheet: Path) -> None:
    """Replace the keys of every device SHEET names (CSV: mac,position,type,value,label)."""
    err = console(stderr=True)
    try:
        with cli.service.db.session() as session:
            written = import_keys(session, sheet.read_bytes())
    except KeysSheetError as error:
        for message in error.errors:
            err.print(f"{sheet}: {message}", markup=False, soft_wrap=True)
        err.print(f"[red]{len(error.errors)} problem(s): nothing was written.")
        sys.exit(1)
    console().print(f"{written} keys written")
