"""``provisioner token``: bearer tokens of the admin API, made and revoked on the server.

A token is printed once, when it is made; the database keeps only its SHA-256.
"""

from __future__ import annotations

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, minute, pass_cli, service_options
from provisioner.db.models import ApiRole
from provisioner.domain.access import tokens
from provisioner.domain.inventory import tenants


@click.group("token")
def token() -> None:
    """Bearer tokens of the admin REST API (/api/v1/)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in ApiRole]),
    help="admin: everything; warehouse: devices and imports; support, readonly: reading; "
    "customer: a customer's own tenant (needs --tenant).",
)
@click.option("--tenant", "tenant_name", metavar="NAME", help="The customer token's tenant.")
@service_options
@pass_cli
def create(cli: CliContext, name: str, role: str, tenant_name: str | None) -> None:
    """Make a token and print it; it is shown this once."""
    with cli.session() as session:
        tenant = (
            tenants.get_tenant(session, tenants.tenant_id_named(session, tenant_name))
            if tenant_name is not None
            else None
        )
        _, plain = tokens.create_token(session, name, ApiRole(role), tenant)
    click.echo(plain)
    console(stderr=True).print(f"token {name!r} ({role}): keep it now, it is not shown again")


@token.command("list")
@service_options
@pass_cli
def list_command(cli: CliContext) -> None:
    """Every token by name, with its role and whether it is revoked (never the token)."""
    table = Table("name", "role", "tenant", "created (UTC)", "revoked (UTC)")
    with cli.session() as session:
        for row in tokens.list_tokens(session):
            table.add_row(
                row.name,
                row.role.value,
                row.tenant.name if row.tenant else "",
                minute(row.created_at),
                minute(row.revoked_at),
            )
    console().print(table)


@token.command("revoke")
@click.argument("name")
@service_options
@pass_cli
def revoke(cli: CliContext, name: str) -> None:
    """Revoke a token by name: it stops working at once."""
    with cli.session() as session:
        tokens.revoke_token(session, name)
    console(stderr=True).print(f"token {name!r} revoked")
