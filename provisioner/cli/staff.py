"""``provisioner staff``: the warehouse staff who log in to the staging pages (/staging/).

Passwords are asked for at a prompt (or read from standard input), never taken as an argument:
an argument would sit in the shell history and the process list.
"""

from __future__ import annotations

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, minute, pass_cli, service_options
from provisioner.db.staging import StaffAccount
from provisioner.domain.access import staff as staff_domain
from provisioner.domain.inventory import tenants


@click.group("staff")
def staff() -> None:
    """Warehouse staff accounts of the staging pages."""


@staff.command("add")
@click.argument("username")
@click.password_option(
    help="Asked for twice at a prompt; piped in, the same two lines on standard input.",
)
@click.option(
    "--tenant",
    "tenant_name",
    metavar="NAME",
    help="A customer's administrator of this tenant: logs in at /customer/ instead.",
)
@service_options
@pass_cli
def add(cli: CliContext, username: str, password: str, tenant_name: str | None) -> None:
    """Add a staff account (user name: lower-case letters, digits, '.', '_', '-')."""
    with cli.session() as session:
        tenant = (
            tenants.get_tenant(session, tenants.tenant_id_named(session, tenant_name))
            if tenant_name is not None
            else None
        )
        staff_domain.add_staff(session, username, password, tenant)
    where = "/customer/" if tenant else "/staging/"
    console(stderr=True).print(f"account {username!r} added; it logs in at {where}")


@staff.command("list")
@service_options
@pass_cli
def list_command(cli: CliContext) -> None:
    """Every staff account, whether it is disabled or locked, and its last login."""
    table = Table("user", "customer of", "created (UTC)", "last login (UTC)", "status")
    with cli.session() as session:
        for row in staff_domain.list_staff(session):
            table.add_row(
                row.username,
                row.tenant.name if row.tenant else "",
                minute(row.created_at),
                minute(row.last_login_at),
                _status(row),
            )
    console().print(table)


def _status(account: StaffAccount) -> str:
    # Lockouts belong to source addresses, not accounts (domain/access/logins.py).
    return "disabled" if account.disabled_at is not None else "active"


@staff.command("disable")
@click.argument("username")
@service_options
@pass_cli
def disable(cli: CliContext, username: str) -> None:
    """Disable an account: its open sessions end at their next page."""
    with cli.session() as session:
        staff_domain.disable_staff(session, username)
    console(stderr=True).print(f"staff account {username!r} disabled")
