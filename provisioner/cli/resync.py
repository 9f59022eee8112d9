"""``provisioner notify``: make a device fetch its file now, and see whether it did."""

from __future__ import annotations

import sys

import click

from provisioner.app.service import Service
from provisioner.cli.context import CliContext, console, mac_argument, pass_cli, service_options
from provisioner.domain.delivery.resync import (
    DEFAULT_TIMEOUT,
    ResyncResult,
    latest_notify,
    parse_target,
    resync_device,
    resync_status,
)
from provisioner.domain.errors import NotFound
from provisioner.sip.notify import send_notify


@click.command()
@click.argument("mac")
@click.option(
    "--to",
    "to",
    metavar="HOST:PORT",
    help="The device's SIP contact (default: the address of its newest fetch, port 5060).",
)
@click.option("--reboot", is_flag=True, help="Ask the device to reboot too (the vendor's flag).")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 64),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the device's answer, its challenge included.",
)
@click.option(
    "--status",
    "show_status",
    is_flag=True,
    help="Send nothing; tell whether the device fetched its file after the newest NOTIFY.",
)
@service_options
@pass_cli
def notify(
    cli: CliContext,
    mac: str,
    to: str | None,
    reboot: bool,
    timeout: float,
    show_status: bool,
) -> None:
    """Ask a device by SIP NOTIFY to fetch its file now (exit 1 unless it answers 2xx)."""
    mac = mac_argument(mac)
    if show_status and (to or reboot):
        raise click.UsageError("--status sends nothing: it takes no --to or --reboot")
    if show_status:
        _print_status(cli.service, mac)
        return
    target = parse_target(to) if to else None
    result = resync_device(
        cli.service,
        mac,
        send_notify,
        target=target,
        reboot=reboot,
        actor="cli",
        timeout=timeout,
        any_target=True,  # the operator on the server: --to may name any contact
    )
    _report(result)


def _report(result: ResyncResult) -> None:
    answer = result.answer
    sent = f"{result.mac}: NOTIFY to {result.target}, Event: {result.event}"
    if not answer.ok:
        hint = ""
        if answer.status is None:
            hint = f"\nIs the device on, and is {result.target} its SIP contact? If not, use --to."
        raise click.ClickException(f"{sent}: the device did not accept it: {answer}{hint}")
    out = console()
    out.print(f"{sent}: {answer}", markup=False, soft_wrap=True)
    out.print(
        f"It should now fetch {result.filename} (sha256 {result.sha256[:12]}...); "
        f"`provisioner notify {result.mac} --status` tells whether it did.",
        markup=False,
        soft_wrap=True,
    )


def _print_status(service: Service, mac: str) -> None:
    with service.db.session() as session:
        event = latest_notify(session, mac)
        if event is None:
            raise NotFound(f"no NOTIFY was sent to device {mac} yet")
        status = resync_status(session, event)
        sys.stdout.write(
            f"{mac}: {event.at:%Y-%m-%d %H:%M:%S} UTC {event.detail}\n"
            f"{event.filename} (sha256 {event.sha256}): {status}\n"
        )
