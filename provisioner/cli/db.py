"""``provisioner db``: the database schema."""

from __future__ import annotations

import click

from provisioner.cli.context import CliContext, console, pass_cli, service_options


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@service_options
@pass_cli
def db_upgrade(cli: CliContext) -> None:
    """Bring the schema to the newest migration (every command also does this)."""
    cli.service  # noqa: B018 - opening the service is what upgrades the schema
    console(stderr=True).print("schema is at the newest revision")
