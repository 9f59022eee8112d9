"""``provisioner staff``: the warehouse staff who log in to the staging pages (/staging/).

Passwords are asked for at a prompt (or read from standard input), never taken as an argument:
an argument would sit in the shell history and the process list.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from provisioner.cli.context import cli_session, config_option, db_option, minute
from provisioner.db.staging import StaffAccount
from provisioner.domain.access import staff as staff_domain


@click.group("staff")
def staff() -> None:
    """Warehouse staff accounts of the staging pages."""


@staff.command("add")
@click.argument("username")
@click.password_option(
    help="Asked for twice at a prompt; piped in, the same two lines on standard input.",
)
@db_option
@config_option
def add(username: str, password: str, db_url: str | None, config_file: Path | None) -> None:
    """Add a staff account (user name: lower-case letters, digits, '.', '_', '-')."""
    with cli_session(db_url, config_file) as (_, session):
        staff_domain.add_staff(session, username, password)
    Console(stderr=True).print(f"staff account {username!r} added; it logs in at /staging/")


@staff.command("list")
@db_option
@config_option
def list_command(db_url: str | None, config_file: Path | None) -> None:
    """Every staff account, whether it is disabled or locked, and its last login."""
    table = Table("user", "created (UTC)", "last login (UTC)", "status")
    with cli_session(db_url, config_file) as (_, session):
        for row in staff_domain.list_staff(session):
            table.add_row(
                row.username,
                minute(row.created_at),
                minute(row.last_login_at),
                _status(row),
            )
    Console().print(table)


def _status(account: StaffAccount) -> str:
    if account.disabled_at is not None:
        return "disabled"
    locked = staff_domain.locked_until(account)
    return f"locked until {locked:%H:%M} UTC" if locked else "active"


@staff.command("disable")
@click.argument("username")
@db_option
@config_option
def disable(username: str, db_url: str | None, config_file: Path | None) -> None:
    """Disable an account: its open sessions end at their next page."""
    with cli_session(db_url, config_file) as (_, session):
        staff_domain.disable_staff(session, username)
    Console(stderr=True).print(f"staff account {username!r} disabled")
