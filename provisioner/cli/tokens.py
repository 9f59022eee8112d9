"""``provisioner token``: bearer tokens of the admin API, made and revoked on the server.

A token is printed once, when it is made; the database keeps only its SHA-256.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from provisioner.cli.context import cli_session, config_option, db_option, minute
from provisioner.db.models import ApiRole
from provisioner.domain.access import tokens


@click.group("token")
def token() -> None:
    """Bearer tokens of the admin REST API (/api/v1/)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in ApiRole]),
    help="admin: everything; warehouse: devices and imports; support, readonly: reading.",
)
@db_option
@config_option
def create(name: str, role: str, db_url: str | None, config_file: Path | None) -> None:
    """Make a token and print it; it is shown this once."""
    with cli_session(db_url, config_file) as (_, session):
        _, plain = tokens.create_token(session, name, ApiRole(role))
    click.echo(plain)
    Console(stderr=True).print(f"token {name!r} ({role}): keep it now, it is not shown again")


@token.command("list")
@db_option
@config_option
def list_command(db_url: str | None, config_file: Path | None) -> None:
    """Every token by name, with its role and whether it is revoked (never the token)."""
    table = Table("name", "role", "created (UTC)", "revoked (UTC)")
    with cli_session(db_url, config_file) as (_, session):
        for row in tokens.list_tokens(session):
            table.add_row(
                row.name,
                row.role.value,
                minute(row.created_at),
                minute(row.revoked_at),
            )
    Console().print(table)


@token.command("revoke")
@click.argument("name")
@db_option
@config_option
def revoke(name: str, db_url: str | None, config_file: Path | None) -> None:
    """Revoke a token by name: it stops working at once."""
    with cli_session(db_url, config_file) as (_, session):
        tokens.revoke_token(session, name)
    Console(stderr=True).print(f"token {name!r} revoked")
