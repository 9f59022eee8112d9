"""``provisioner gateway``: a gateway's trunk, its ported numbers, what it fetches.

A gateway is added, bound and shipped like any device (``provisioner import`` or the admin
API, model ``32Gateway``); these commands add what only gateways have.
"""

from __future__ import annotations

import json

import click
from rich.table import Table

from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.domain.gateways import numbers as number_map
from provisioner.domain.gateways.config import config_document
from provisioner.domain.gateways.devices import REFUSALS, get_gateway, set_profile
from provisioner.domain.gateways.trunk import TrunkAccount, apply_account
from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.vendors import gateway32


@click.group("gateway")
def gateway() -> None:
    """Gateways (32Gateway): trunk settings, ported numbers, the config they fetch."""


@gateway.command("add")
@click.argument("mac")
@click.option("--tenant", "tenant_name", required=True, help="The tenant it serves.")
@service_options
@pass_cli
def add(cli: CliContext, mac: str, tenant_name: str) -> None:
    """Add a gateway to the inventory, bound to a tenant (it gets its own credentials)."""
    with cli.session() as session:
        found = tenants.list_tenants(session, name=tenant_name)
        if not found:
            raise click.ClickException(f"no tenant named {tenant_name!r}")
        device = devices.create_device(session, cli.service.box, mac=mac, model=gateway32.MODEL)
        devices.act(session, cli.service.box, device, Action.BIND, actor="cli", tenant=found[0])
        canonical = device.mac
    console(stderr=True).print(
        f"gateway {canonical} bound to {tenant_name}: next, 'provisioner gateway set'"
    )


@gateway.command("set")
@click.argument("mac")
@click.option("--trunk", metavar="HOST[:PORT]", help="The legacy line / carrier side (UDP).")
@click.option(
    "--core", "cores", multiple=True, metavar="HOST[:PORT]", help="A PBX core; primary first."
)
@click.option("--refusal", type=click.Choice(REFUSALS), help="busy: 486; unavailable: 503.")
@click.option("--default-caller-id", help="Outbound number for extensions without a DID.")
@click.option("--max-call-seconds", type=int)
@click.option(
    "--trunk-register/--trunk-no-register",
    default=None,
    help="The carrier wants a REGISTER with the account below (off: it trusts the address).",
)
@click.option("--trunk-user", help="The carrier account's user name ('' removes it).")
@click.option("--trunk-auth-user", help="Digest user name, when not the account's ('' removes).")
@click.option(
    "--trunk-password",
    envvar="PROVISIONER_TRUNK_PASSWORD",
    show_envvar=True,
    help="The account's password (better through the environment than on the command line).",
)
@click.option("--trunk-registrar", metavar="HOST[:PORT]", help="Registrar, if not the trunk.")
@click.option("--trunk-outbound-proxy", metavar="HOST[:PORT]", help="Outbound proxy, if any.")
@click.option("--trunk-expires", type=int, help="Seconds a registration is asked to hold.")
@service_options
@pass_cli
def set_command(
    cli: CliContext,
    mac: str,
    trunk: str | None,
    cores: tuple[str, ...],
    refusal: str | None,
    default_caller_id: str | None,
    max_call_seconds: int | None,
    trunk_register: bool | None,
    trunk_user: str | None,
    trunk_auth_user: str | None,
    trunk_password: str | None,
    trunk_registrar: str | None,
    trunk_outbound_proxy: str | None,
    trunk_expires: int | None,
) -> None:
    """Set a gateway's trunk, its carrier account, PBX cores and refusal; what is not given
    stays."""
    account = TrunkAccount(
        register=trunk_register, user=trunk_user, auth_user=trunk_auth_user,
        password=trunk_password, registrar=trunk_registrar,
        outbound_proxy=trunk_outbound_proxy, expires=trunk_expires,
    )  # fmt: skip
    with cli.session() as session:
        profile = set_profile(
            session,
            get_gateway(session, mac),
            trunk=trunk,
            cores=list(cores) or None,
            refusal=refusal,
            default_caller_id=default_caller_id,
            max_call_seconds=max_call_seconds,
        )
        apply_account(profile, cli.service.box, account)
    console(stderr=True).print(f"gateway {mac}: settings saved")


@gateway.group("number")
def number() -> None:
    """Ported numbers (DIDs) and their destinations."""


@number.command("add")
@click.argument("mac")
@click.argument("did")
@click.argument("destination")
@service_options
@pass_cli
def number_add(
    cli: CliContext,
    mac: str,
    did: str,
    destination: str,
) -> None:
    """Map DID to DESTINATION (an extension or representative number of the tenant)."""
    with cli.session() as session:
        mapped = number_map.map_number(session, get_gateway(session, mac), did, destination)
        text = f"{mapped.did} -> {mapped.destination}"
    console(stderr=True).print(f"gateway {mac}: {text}")


@number.command("remove")
@click.argument("mac")
@click.argument("did")
@service_options
@pass_cli
def number_remove(cli: CliContext, mac: str, did: str) -> None:
    """Take a DID off a gateway."""
    with cli.session() as session:
        number_map.unmap_number(session, get_gateway(session, mac), did)
    console(stderr=True).print(f"gateway {mac}: {did} removed")


@number.command("list")
@click.argument("mac")
@service_options
@pass_cli
def number_list(cli: CliContext, mac: str) -> None:
    """A gateway's DIDs and where each goes."""
    table = Table("DID", "destination")
    with cli.session() as session:
        for row in number_map.list_numbers(session, get_gateway(session, mac)):
            table.add_row(row.did, row.destination)
    console().print(table)


@gateway.command("config")
@click.argument("mac")
@service_options
@pass_cli
def config(cli: CliContext, mac: str) -> None:
    """Print the config.json the gateway would fetch now."""
    with cli.session() as session:
        document = config_document(
            session, get_gateway(session, mac), cli.service.settings.pbx_addresses, cli.service.box
        )
    registration = document["trunk"]["registration"]
    if registration is not None:  # printed for checking, not for copying a secret around
        registration["password"] = "********"  # noqa: S105
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@gateway.command("credentials")
@click.argument("mac")
@service_options
@pass_cli
def credentials(cli: CliContext, mac: str) -> None:
    """Print the gateway's own settings (TOML for gateway32 --config): MAC, URL, credentials."""
    with cli.session() as session:
        device = get_gateway(session, mac)
        found = devices.credentials(cli.service.box, device)
        base = cli.service.settings.http_base
    if not found.http_user or not found.http_password:
        raise click.ClickException(f"gateway {mac} has no credentials: bind it to a tenant first")
    click.echo(f'mac = "{found.mac}"')
    click.echo(f'provisioner_url = "{base}"')
    click.echo(f'http_user = "{found.http_user}"')
    click.echo(f'http_password = "{found.http_password}"')
