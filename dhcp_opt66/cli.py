"""``dhcp-opt66``: bench DHCP and DNS, the LAN probe, snippets, and dnsmasq's lease hook."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dhcp_opt66 import lease_hook, settings, snippets
from dhcp_opt66.vendors import VENDORS

if TYPE_CHECKING:  # probe is imported when run: it pulls in scapy and dnslib
    from dhcp_opt66.probe import Diagnosis

TOKEN_ENV = "DHCP_OPT66_API_TOKEN"  # noqa: S105 - a variable name


@click.group()
def main() -> None:
    """Zero-touch provisioning, LAN side: bench DHCP/DNS, LAN probe, DHCP snippets."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


@main.command()
@click.option("--iface", help="The bench interface (only it is served).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with a [bench] table; options override it.",
)
@click.option("--address", help="The bench's address/prefix on IFACE, e.g. 10.204.1.1/24.")
@click.option("--range-start", help="First leased address (default: network + 20).")
@click.option("--range-end", help="Last leased address (default: broadcast - 5).")
@click.option("--lease-time", help="dnsmasq lease time: 3600, 45m, 1h, 1d (default 1h).")
@click.option("--provisioning-url", help="Base URL phones fetch from (options 66/160).")
@click.option("--provisioning-ip", help="A record of the URL's host (default: the bench).")
@click.option("--domain", help="The bench's DNS domain (default bench.test).")
@click.option("--ntp", multiple=True, help="NTP server for option 42 (default: the bench).")
@click.option("--router", help="Option 3 (default: the bench).")
@click.option("--pbx-core", help="HOST[:PORT] for the _sip._udp SRV record.")
@click.option("--pbx-core-ip", help="A record of the PBX core host.")
@click.option(
    "--grandstream-option160/--no-grandstream-option160",
    default=None,
    help="Also send option 160 to Grandstream phones (P8337=2).",
)
@click.option("--dns-port", type=int, help="DNS port on the bench address (default 53).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Leases, pid, generated configuration (default ./dhcp-bench).",
)
@click.option("--api-url", help="Provisioner base URL for lease events; token in $" + TOKEN_ENV)
@click.option("--pnp/--no-pnp", default=None, help="Answer SIP plug-and-play (default on).")
@click.option("--pnp-port", type=int, help="SIP PnP port (default 5060).")
@click.option(
    "--probe-timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="How long to listen for another DHCP server before serving.",
)
def bench(config_path: Path | None, probe_timeout: float, **options: Any) -> None:
    """Serve DHCP and DNS on the bench interface with dnsmasq, supervised."""
    from dhcp_opt66 import bench as serving
    from dhcp_opt66.dhcp_packets import discover
    from dhcp_opt66.pnp import PnpResponder

    options["ntp"] = tuple(options["ntp"])
    try:
        config = settings.load(config_path, options)
        serving.check_interface(config)
        # Before anything is written (the token file among it): is the bench alone?
        click.echo(f"looking for another DHCP server on {config.iface} ({probe_timeout:g} s)")
        serving.refuse_other_servers(discover(config.iface, probe_timeout), config.iface)
        prepared = serving.prepare(config, os.environ.get(TOKEN_ENV))
    except (settings.BenchConfigError, serving.BenchError) as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot look for other DHCP servers: {exc} (root?)") from exc
    stop = threading.Event()
    serving.stop_on_signals(stop)
    responder = None
    if config.pnp:
        try:
            responder = PnpResponder(
                config.iface, config.address.ip, config.provisioning_url, config.pnp_port
            ).start()
        except OSError as exc:
            raise click.ClickException(f"SIP PnP cannot listen: {exc} (--no-pnp skips it)") from exc
    click.echo(f"serving {config.iface} ({config.address}); configuration {prepared.conf}")
    try:
        code = serving.Supervisor(prepared.command, stop).run()
    finally:
        if responder is not None:
            responder.stop()
    sys.exit(code)


@main.command()
@click.option("--iface", required=True, help="The interface on the LAN to test.")
@click.option(
    "--timeout",
    type=float,
    default=6.0,
    show_default=True,
    help="Listening time; under 4 s misses servers that ping-check first.",
)
@click.option("--expect", help="The provisioning URL or host option 66 should name.")
@click.option("--vendor-class", help="Option 60 to send, to see a vendor's answer.")
@click.option("--mac", help="Client MAC to send (default: the interface's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def probe(iface: str, timeout: float, expect: str | None, vendor_class: str | None,
          mac: str | None, as_json: bool) -> None:  # fmt: skip
    """One DISCOVER, every OFFER, a verdict; never takes a lease. Exit code = verdict."""
    from dhcp_opt66.dhcp_packets import discover
    from dhcp_opt66.dns_check import resolve
    from dhcp_opt66.probe import diagnose

    try:
        offers = discover(iface, timeout, mac=mac, vendor_class=vendor_class)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot send on {iface}: {exc}") from exc
    result = diagnose(offers, expect, resolve)
    if as_json:
        click.echo(json.dumps({"iface": iface, **result.as_json()}, indent=2))
    else:
        _print_diagnosis(iface, result)
    sys.exit(int(result.verdict))


def _print_diagnosis(iface: str, result: Diagnosis) -> None:
    click.echo(f"{len(result.offers)} offer(s) on {iface}")
    for offer in result.offers:
        click.echo(f"- from {offer.server_id} (MAC {offer.from_mac}): {offer.yiaddr}")
        for name, value in offer.as_json()["options"].items():
            click.echo(f"    {name:20} {value}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"{result.verdict.name.lower().replace('_', ' ')}: {result.message}")


@main.command()
@click.option("--vendor", type=click.Choice(sorted(VENDORS)), required=True)
@click.option("--server", type=click.Choice(snippets.SERVERS), required=True)
@click.option(
    "--url", default="http://prov.example.jp/", show_default=True, help="The provisioning base URL."
)
@click.option(
    "--option160/--no-option160",
    default=False,
    help="Grandstream: also option 160 (Panasonic always gets it).",
)
def snippet(vendor: str, server: str, url: str, option160: bool) -> None:
    """Print the lines for a customer's DHCP server."""
    try:
        checked = settings.check_url(url)
    except settings.BenchConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(snippets.snippet(vendor, server, checked, option160), nl=False)


@main.command("lease-hook", context_settings={"ignore_unknown_options": True})
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def lease_hook_command(config_path: Path, args: tuple[str, ...]) -> None:
    """dnsmasq --dhcp-script: ACTION MAC IP [HOSTNAME] -> POST /api/v1/dhcp/leases."""
    sys.exit(lease_hook.run(config_path, list(args)))
