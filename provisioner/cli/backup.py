"""``provisioner backup`` and ``provisioner restore``: the inventory to a file and back.

Neither upgrades the schema first, unlike other commands: a backup taken before an upgrade
must hold the schema as it was, and a restore checks the backup before it writes anything.
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.app.service import open_storage
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.domain.operations.backup import create_backup, restore_backup


@click.command("backup")
@click.option(
    "--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (replaced only once complete).",
)  # fmt: skip
@service_options
@pass_cli
def backup(cli: CliContext, target: Path) -> None:
    """Back up the inventory while the service runs. Keep the key apart from the file: the
    backup holds its secrets encrypted under it, and only its fingerprint."""
    db, box = open_storage(cli.settings)
    try:
        manifest = create_backup(db, box, target)
    finally:
        db.dispose()
    console(stderr=True).print(
        f"backed up {manifest.devices} devices, {manifest.accounts} accounts "
        f"(schema {manifest.schema_revision}, key {manifest.key_fingerprint}) to {target}"
    )


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@service_options
@pass_cli
def restore(cli: CliContext, source: Path) -> None:
    """Replace the inventory with a backup's (stop ``serve`` first). Refused, before anything
    is written, for a backup made under another key or by a newer schema."""
    db, box = open_storage(cli.settings)
    try:
        manifest = restore_backup(db, box, source)
    finally:
        db.dispose()
    console(stderr=True).print(
        f"restored {manifest.devices} devices from {source} (made {manifest.created_at}, "
        f"schema {manifest.schema_revision}, now at the newest revision)"
    )
