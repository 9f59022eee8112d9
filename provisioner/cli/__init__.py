"""The ``provisioner`` command line (DESIGN.md §3)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from provisioner.app.runner import HttpListener, split_address
from provisioner.app.runner import serve as serve_forever
from provisioner.app.tls import self_signed_pair
from provisioner.cli.context import config_option, db_option, mac_argument, open_cli_service
from provisioner.cli.firmware import firmware
from provisioner.cli.gateway import gateway
from provisioner.cli.licence import licence
from provisioner.cli.pbx import pbx
from provisioner.cli.poe import poe
from provisioner.cli.resync import notify
from provisioner.cli.staff import staff
from provisioner.cli.tokens import token
from provisioner.domain.delivery.resync import timeline_text
from provisioner.domain.demo import DEMO_TENANT, demo_mac, seed_demo
from provisioner.domain.errors import DomainError
from provisioner.domain.inventory.lookup import load_device, timeline
from provisioner.domain.inventory.sheet import ImportReport, SheetError, import_sheet
from provisioner.domain.poe.status import bench_poe, poe_line
from provisioner.metrics import prepare_multiprocess_dir
from provisioner.settings import CONFIG_ENV
from provisioner.vendors import all_models, vendor

console = Console(stderr=True)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Zero-touch provisioning for Grandstream and Panasonic SIP devices."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--http", "http_addr", default="127.0.0.1:8080", show_default=True)
@click.option("--https", "https_addr", metavar="HOST:PORT", help="Also serve HTTPS here.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tftp", "tftp_addr", default="127.0.0.1:6969", show_default=True)
@click.option("--no-http", is_flag=True, help="No plain HTTP listener.")
@click.option("--no-tftp", is_flag=True, help="No TFTP listener.")
@click.option("--demo", is_flag=True, help="Seed a demo tenant with one device of every model.")
@db_option
@config_option
def serve(
    http_addr: str,
    https_addr: str | None,
    cert: Path | None,
    key: Path | None,
    tftp_addr: str,
    no_http: bool,
    no_tftp: bool,
    demo: bool,
    db_url: str | None,
    config_file: Path | None,
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
    if config_file is not None:  # HTTP workers read the same file
        os.environ[CONFIG_ENV] = str(config_file.resolve())
    service = open_cli_service(db_url, config_file)
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
    out = Console()
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


@main.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@db_option
@config_option
def import_command(
    sheet: Path, dry_run: bool, db_url: str | None, config_file: Path | None
) -> None:
    """Import a provisioning sheet (CSV): all rows or none."""
    service = open_cli_service(db_url, config_file)
    data = sheet.read_bytes()
    total = max(data.count(b"\n") - 1, 1)
    try:
        with (
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=total < 500,
            ) as bar,
            service.db.session() as session,
        ):
            task = bar.add_task("checking and writing", total=total * 2)
            report = import_sheet(
                session,
                service.box,
                data,
                dry_run=dry_run,
                actor=f"import {sheet.name}",
                progress=lambda n: bar.advance(task, n),
            )
    except SheetError as exc:
        raise click.ClickException(f"{sheet}: {exc}") from exc
    finally:
        service.close()
    _print_report(sheet, report, dry_run)
    if not report.ok:
        sys.exit(1)


def _print_report(sheet: Path, report: ImportReport, dry_run: bool) -> None:
    if not report.ok:
        for error in report.errors:
            console.print(f"{sheet}:{error.line}: {error.reason}", markup=False, soft_wrap=True)
        console.print(
            f"[red]{len(report.errors)} bad row(s) of {report.rows}: nothing was written."
        )
        return
    verb = "would create" if dry_run else "created"
    console.print(
        f"{report.rows} rows: {verb} {report.tenants_created} tenant(s), "
        f"{report.accounts_created} account(s), {report.devices_created} device(s), "
        f"{report.representative_numbers_created} representative number(s); "
        f"{report.devices_updated} device(s) updated"
        + (" (dry run: nothing written)" if dry_run else ".")
    )


@main.command()
@click.argument("mac")
@click.argument("filename", required=False)
@db_option
@config_option
def render(mac: str, filename: str | None, db_url: str | None, config_file: Path | None) -> None:
    """Print the file a device would get (its own config unless FILENAME says otherwise)."""
    mac = mac_argument(mac)
    service = open_cli_service(db_url, config_file)
    try:
        body = service.provisioner.preview(mac, filename)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        service.close()
    sys.stdout.buffer.write(body)


@main.group()
def device() -> None:
    """Look at devices."""


@device.command("show")
@click.argument("mac")
@click.option("--limit", default=50, show_default=True, help="Timeline entries to show.")
@db_option
@config_option
def device_show(mac: str, limit: int, db_url: str | None, config_file: Path | None) -> None:
    """The device, its lines and its timeline (newest first)."""
    mac = mac_argument(mac)
    service = open_cli_service(db_url, config_file)
    # Piped to a file or grep, a table cut to 80 columns would hide the timeline.
    out = Console(width=None if sys.stdout.isatty() else 240)
    try:
        with service.db.session() as session:
            found = load_device(session, mac)
            if found is None:
                raise click.ClickException(f"no device {mac} in the inventory")
            tenant = found.tenant.name if found.tenant else "-"
            out.print(
                f"[bold]{found.mac}[/] {found.vendor} {found.model} ({found.kind}) "
                f"state={found.state} tenant={tenant} firmware={found.firmware_version or '-'}"
            )
            poe = bench_poe(session, [found.mac]).get(found.mac)
            if poe is not None:
                out.print(escape(poe_line(poe)))
            lines = Table("port", "extension", "direct number", "display name", "SIP user", "fax")
            for line in found.lines:
                account = line.account
                lines.add_row(
                    str(line.port),
                    account.extension,
                    account.direct_number or "-",
                    account.display_name,
                    account.sip_username,
                    line.fax_mode or "-",
                )
            out.print(lines)
            events = Table(
                "time (UTC)", "kind", "by", "proto", "file", "source", "status", "firmware"
            )
            for event in timeline(session, found, limit):
                events.add_row(
                    event.at.strftime("%Y-%m-%d %H:%M:%S"),
                    event.kind,
                    escape(event.actor or ""),
                    event.protocol or "",
                    escape(timeline_text(session, event)),
                    event.source or "",
                    str(event.status or ""),
                    event.firmware or "",
                )
            out.print(events)
    finally:
        service.close()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@db_option
@config_option
def db_upgrade(db_url: str | None, config_file: Path | None) -> None:
    """Bring the schema to the newest migration (every command also does this)."""
    open_cli_service(db_url, config_file).close()
    console.print("schema is at the newest revision")


main.add_command(firmware)
main.add_command(notify)
main.add_command(token)
main.add_command(staff)
main.add_command(poe)
main.add_command(gateway)
main.add_command(licence)
main.add_command(pbx)
