"""``provisioner pbx``: the shared PBX core's configuration and its subscriber table.

``export`` fills the core's SQLite database from the inventory (once, or again whenever the
inventory changes with ``--watch``); ``config`` prints the core's kamailio.cfg.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from provisioner.app.service import Service
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.pbx.core_config import CoreConfigError, CoreSettings, peer, render_core_config
from provisioner.pbx.directory import Directory, build_directory
from provisioner.pbx.kamailio_db import write_directory

realm_option = click.option(
    "--realm", help="Digest realm of the core (default: the host of PROVISIONER_PBX_CORE)."
)


@click.group("pbx")
def pbx() -> None:
    """The shared PBX core (Kamailio registrar and proxy)."""


def _export(service: Service, target: Path, realm: str, before: Directory | None) -> Directory:
    """Write the directory when it differs from what was written ``before``."""
    with service.db.session() as session:
        directory = build_directory(session, service.box, realm)
    if directory != before:
        write_directory(target, directory)
        console(stderr=True).print(
            f"{target}: {len(directory.subscribers)} subscriber(s), "
            f"{len(directory.aliases)} alias(es) for realm {realm}"
        )
    return directory


@pbx.command("export")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path))
@realm_option
@click.option(
    "--watch",
    type=float,
    metavar="SECONDS",
    help="Keep running: export again whenever what the core needs changed (checked this often).",
)
@service_options
@pass_cli
def export(
    cli: CliContext,
    target: Path,
    realm: str | None,
    watch: float | None,
) -> None:
    """Write every served account (username, HA1, tenant) and number alias to SQLITE_FILE."""
    service = cli.service
    realm = realm or service.settings.pbx_host
    try:
        written = _export(service, target, realm, None)
        while watch:
            time.sleep(watch)
            written = _export(service, target, realm, written)
    except KeyboardInterrupt:
        pass


@pbx.command("config")
@click.option("--listen", default="127.0.0.1:5060", show_default=True, metavar="IP:PORT")
@click.option("--pbx-db", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--run-dir", default="/run/kamailio", show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--gateway",
    "gateways",
    multiple=True,
    metavar="IP:PORT[=TENANT]",
    help="A trusted gateway; with its tenant, that tenant's outside calls go out through it.",
)
@click.option("--children", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--min-expires",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="The shortest registration the core grants (seconds).",
)
@click.option(
    "--rpc",
    default=None,
    metavar="IP:PORT",
    help="TCP socket where the provisioner reads registrations (JSON-RPC ul.dump); none if unset.",
)
@click.option(
    "--rpc-reader",
    "rpc_readers",
    multiple=True,
    default=("127.0.0.1",),
    show_default=True,
    metavar="IP",
    help="An address allowed to read registrations (repeat for several provisioners).",
)
@realm_option
@service_options
@pass_cli
def config(
    cli: CliContext,
    listen: str,
    pbx_db: Path,
    run_dir: Path,
    gateways: tuple[str, ...],
    children: int,
    min_expires: int,
    rpc: str | None,
    rpc_readers: tuple[str, ...],
    realm: str | None,
) -> None:
    """Print the core's kamailio.cfg (run it with: kamailio -f FILE -DD -E)."""
    settings = cli.settings.validate()  # the core's settings only: no database is opened
    try:
        text = render_core_config(
            CoreSettings(
                listen=peer(listen, "--listen"),
                realm=realm or settings.pbx_host,
                db_path=pbx_db,
                run_dir=run_dir,
                gateways=tuple(peer(g, "--gateway") for g in gateways),
                children=children,
                max_expires=settings.registration_expiry,
                min_expires=min_expires,
                rpc=peer(rpc, "--rpc") if rpc else None,
                rpc_readers=rpc_readers,
            )
        )
    except CoreConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    click.echo(text, nl=False)
