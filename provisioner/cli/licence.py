"""``provisioner licence``: channel licences for gateways, issued and signed on the server.

The signed document goes to the gateway inside its config.json; ``public-key`` prints what
each gateway's settings need (``issuer_key``) to verify it offline.
"""

from __future__ import annotations

import datetime as dt

import click
from rich.table import Table

from gateway32.licence import CHANNEL_TIERS
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.domain.gateways import licences
from provisioner.domain.gateways.devices import get_gateway


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
@service_options
@pass_cli
def issue(
    cli: CliContext,
    mac: str,
    channels: str,
    days: int,
    not_before: dt.datetime | None,
) -> None:
    """Issue a licence for a gateway bound to a tenant; prints the signed document."""
    with cli.session() as session:
        issued = licences.issue_licence(
            session,
            cli.service.box,
            get_gateway(session, mac),
            channels=int(channels),
            days=days,
            not_before=not_before,
            actor="cli",
        )
        document, serial = issued.document, issued.serial
        expires = issued.expires
    click.echo(document, nl=False)
    console(stderr=True).print(
        f"licence {serial}: {channels} channels until {expires:%Y-%m-%d %H:%M} UTC"
    )


@licence.command("list")
@click.option("--gateway", "mac", help="Only this gateway's licences.")
@service_options
@pass_cli
def list_command(cli: CliContext, mac: str | None) -> None:
    """Every licence, oldest first (serial, gateway, tenant, channels, dates)."""
    table = Table("serial", "gateway", "tenant", "channels", "not before (UTC)", "expires (UTC)")
    with cli.session() as session:
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
    console().print(table)


@licence.command("show")
@click.argument("serial")
@service_options
@pass_cli
def show(cli: CliContext, serial: str) -> None:
    """Print a licence's signed document."""
    with cli.session() as session:
        document = licences.get_licence(session, serial).document
    click.echo(document, nl=False)


@licence.command("public-key")
@service_options
@pass_cli
def public_key(cli: CliContext) -> None:
    """Print the issuer's public key (PEM) for the gateways' issuer_key setting."""
    with cli.session() as session:
        pem = licences.public_key(session, cli.service.box)
    click.echo(pem, nl=False)
