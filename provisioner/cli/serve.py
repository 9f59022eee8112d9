"""``provisioner serve``: the front doors (HTTP(S) and TFTP) over one service until interrupted."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path

import click

from provisioner.app.runner import HttpListener, split_address
from provisioner.app.runner import serve as serve_forever
from provisioner.app.tls import self_signed_pair
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.domain.demo import DEMO_TENANT, demo_mac, seed_demo
from provisioner.metrics import prepare_multiprocess_dir
from provisioner.settings import CONFIG_ENV, ENV_PREFIX
from provisioner.vendors import all_models, vendor

HTTP_BASE_ENV = f"{ENV_PREFIX}HTTP_BASE"


@click.command()
@click.option("--http", "http_addr", default="127.0.0.1:8080", show_default=True)
@click.option("--https", "https_addr", metavar="HOST:PORT", help="Also serve HTTPS here.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tftp", "tftp_addr", default="127.0.0.1:6969", show_default=True)
@click.option("--no-http", is_flag=True, help="No plain HTTP listener.")
@click.option("--no-tftp", is_flag=True, help="No TFTP listener.")
@click.option("--demo", is_flag=True, help="Seed a demo tenant with one device of every model.")
@service_options
@pass_cli
def serve(
    cli: CliContext,
    http_addr: str,
    https_addr: str | None,
    cert: Path | None,
    key: Path | None,
    tftp_addr: str,
    no_http: bool,
    no_tftp: bool,
    demo: bool,
) -> None:
    """Serve device configs over HTTP(S) and TFTP until interrupted."""
    # Before anything counts: every process (workers, TFTP) adds to the same metrics.
    prepare_multiprocess_dir()
    try:
        listeners = [] if no_http else [HttpListener(*split_address(http_addr))]
        if https_addr:
            listeners.append(_https_listener(https_addr, cert, key, demo))
        tftp = None if no_tftp else split_address(tftp_addr)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if cli.config_file is not None:  # HTTP workers read the same file
        os.environ[CONFIG_ENV] = str(cli.config_file.resolve())
    base = _derived_http_base(listeners, cli.config_file)
    if base is not None:  # before the settings are read, here and in every HTTP worker
        os.environ[HTTP_BASE_ENV] = base
    service = cli.service
    if demo:
        with service.db.session() as session:
            seed_demo(session, service.box)

    def ready() -> None:
        if demo:
            _print_demo_help(listeners, tftp)

    try:
        serve_forever(service, listeners, tftp, ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen: {exc}") from exc


def _derived_http_base(listeners: list[HttpListener], config_file: Path | None) -> str | None:
    """The URL rendered files point devices at, from the first listener, when neither the
    environment nor the settings file names one: a server on :8081 must not send phones to
    the default :8080. A wildcard address (0.0.0.0, ::) names no host: the default stays."""
    if HTTP_BASE_ENV in os.environ or not listeners:
        return None
    if config_file is not None:
        with config_file.open("rb") as handle:
            if "http_base" in tomllib.load(handle):
                return None
    first = listeners[0]
    try:
        if ipaddress.ip_address(first.host).is_unspecified:
            return None
    except ValueError:  # a host name: devices can use it as it is
        pass
    host = f"[{first.host}]" if ":" in first.host else first.host
    return f"{first.scheme}://{host}:{first.port}"


def _https_listener(address: str, cert: Path | None, key: Path | None, demo: bool) -> HttpListener:
    host, port = split_address(address)
    if cert is None or key is None:
        if not demo:
            raise click.UsageError(
                "--https needs --cert and --key (or --demo for a self-signed pair)"
            )
        cert, key = self_signed_pair(Path("demo-tls"), host)
    return HttpListener(host, port, cert.resolve(), key.resolve())


def _print_demo_help(listeners: list[HttpListener], tftp: tuple[str, int] | None) -> None:
    models = all_models()
    out = console()
    out.print(f"[bold]Demo tenant {DEMO_TENANT!r}: one device of each of {len(models)} models")
    for index, model in enumerate(models, start=1):
        mac = demo_mac(index, model)
        name = vendor(model.vendor).device_filename(mac, model)
        out.print(f"  {model.model:10} {mac}  {name}")
    gs_index, gs = next((i, m) for i, m in enumerate(models, 1) if m.vendor == "grandstream")
    gs_file = vendor(gs.vendor).device_filename(demo_mac(gs_index, gs), gs)
    for listener in listeners:
        insecure = " -k" if listener.cert else ""
        out.print(f"Fetch over {listener.scheme.upper()}:")
        url = f"{listener.scheme}://{listener.host}:{listener.port}/{gs_file}"
        out.print(f"  curl -s{insecure} {url}", soft_wrap=True)
    if tftp:
        out.print("Fetch over TFTP:")
        out.print(f"  tftp {tftp[0]} {tftp[1]} -m binary -c get {gs_file}", soft_wrap=True)
        out.print(f"  curl -s tftp://{tftp[0]}:{tftp[1]}/{gs_file}", soft_wrap=True)
    out.print("Stop with Ctrl-C.")
