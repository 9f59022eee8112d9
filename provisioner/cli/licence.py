"""``provisioner licence``: channel licences for gateways, issued and signed on the server.

The signed document goes to the gateway inside its config.json; ``public-key`` prints what
each gateway's settings need (``issuer_key``) to verify it offline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from gateway32.licence import CHANNEL_TIERS
from provisioner.cli.context import cli_session, config_option, db_option
from provisioner.domain.gateways import licences
from provisioner.domain.gateways.devices import get_gateway

err = Console(stderr=True)


@click.group("licence")
def licence() -> None:
    """Channel licences of gateways (4, 8, 16 or 32 simultaneous calls)."""


def _utc_moment(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2027-01-01 or 2027-01-01T09:00+09:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@licence.command("issue")
@click.argument("mac")
@click.option(
    "--channels", required=True, type=click.Choice([str(n) for n in CHANNEL_TIERS]), help="Tier."
)
@click.option("--days", required=True, type=int, help="How long it runs from --not-before.")
@click.option(
    "--not-before",
    callback=_utc_moment,
    help="Start (ISO 8601; UTC unless an offset is given). Default: now.",
)
@db_option
@config_option
def issue(
    mac: str,
    channels: str,
    days: int,
    not_before: dt.datetime | None,
    db_url: str | None,
    config_file: Path | None,
) -> None:
    """Issue a licence for a gateway bound to a tenant; prints the signed document."""
    with cli_session(db_url, config_file) as (service, session):
        issued = licences.issue_licence(
            session,
            service.box,
            get_gateway(session, mac),
            channels=int(channels),
            days=days,
            not_before=not_before,
            actor="cli",
        )
        document, serial = issued.document, issued.serial
        expires = issued.expires
    click.echo(document, nl=False)
    err.print(f"licence {serial}: {channels} channels until {expires:%Y-%m-%d %H:%M} UTC")


@licence.command("list")
@click.option("--gateway", "mac", help="Only this gateway's licences.")
@db_option
@config_option
def list_command(mac: str | None, db_url: str | None, config_file: Path | None) -> None:
    """Every licence, oldest first (serial, gateway, tenant, channels, dates)."""
    table = Table("serial", "gateway", "tenant", "channels", "not before (UTC)", "expires (UTC)")
    with cli_session(db_url, config_file) as (_, session):
        device = get_gateway(session, mac) if mac else None
        for row in licences.list_licences(session, device):
            table.add_row(
                row.serial,
                row.device.mac,
                row.tenant.name,
                str(row.channels),
                f"{row.not_before:%Y-%m-%d %H:%M}",
                f"{row.expires:%Y-%m-%d %H:%M}",
            )
    Console().print(table)


@licence.command("show")
@click.argument("serial")
@db_option
@config_option
def show(serial: str, db_url: str | None, config_file: Path | None) -> None:
    """Print a licence's signed document."""
    with cli_session(db_url, config_file) as (_, session):
        document = licences.get_licence(session, serial).document
    click.echo(document, nl=False)


@licence.command("public-key")
@db_option
@config_option
def public_key(db_url: str | None, config_file: Path | None) -> None:
    """Print the issuer's public key (PEM) for the gateways' issuer_key setting."""
    with cli_session(db_url, config_file) as (service, session):
        pem = licences.public_key(session, service.box)
    click.echo(pem, nl=False)
