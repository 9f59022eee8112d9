"""The ``gateway32`` command: run the gateway, ask it how it is, check a licence, reload it."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import click

from gateway32.cdr_upload import UploadResult, upload_cdrs
from gateway32.health import HealthReport, NotRunning, gather, prometheus_text
from gateway32.licence import LicenceError, load_public_key, verify
from gateway32.provisioning import FetchResult, fetch_config
from gateway32.settings import Settings, SettingsError
from gateway32.supervisor import StartError, Supervisor, pid_file, status_file


@click.group()
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
    envvar="GATEWAY32_CONFIG", help="TOML settings file (GATEWAY32_* variables override it).",
)  # fmt: skip
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """gateway32: the channel-licensed SIP bridge between a carrier line and the PBX core."""
    try:
        ctx.obj = Settings.load(config_path)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.pass_obj
def run(settings: Settings) -> None:
    """Serve calls in the foreground until SIGTERM (Kamailio and rtpengine run under it)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway32 %(message)s")
    supervisor = Supervisor(settings)
    try:
        supervisor.start()
    except StartError as exc:
        supervisor.stop()
        raise click.ClickException(f"not started: {exc}") from exc
    click.echo(f"gateway32 ready on {settings.sip}", err=True)
    sys.exit(supervisor.serve())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def status(settings: Settings, as_json: bool) -> None:
    """Licence, channels in use of the limit, PBX cores up and down (from the running Kamailio)."""
    report = _report(settings)
    licence, cores = report["licence"], report["cores"]
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(
        f"licence {licence['serial']} for {licence['tenant']}: {licence['channels']} channels, "
        f"{'EXPIRED at' if report['licence_expired'] else 'valid until'} {licence['expires']}"
    )
    if report["licence_refused"]:
        click.echo(f"last new configuration REFUSED: {report['licence_refused']}")
    click.echo(f"channels in use: {report['channels_in_use']} of {licence['channels']}")
    for core in cores:
        click.echo(f"core {core['uri']}: {'up' if core['up'] else 'DOWN'} ({core['flags']})")
    if not report["cores_up"]:
        click.echo("all PBX cores are down: inbound calls get 503 (Q.850 cause 41)")
    trunk = report["trunk"]
    if trunk["mode"] == "ip":
        click.echo("trunk: trusted by address (no registration)")
    elif trunk["registered"]:
        click.echo(f"trunk: registered as {trunk['user']} at {trunk['registrar']}, "
                   f"{trunk['expires_in']} s left")  # fmt: skip
    else:
        reason = trunk["last_error"] or "no answer yet"
        click.echo(f"trunk: NOT REGISTERED as {trunk['user']} at {trunk['registrar']}: {reason}")


@main.command()
@click.pass_obj
def metrics(settings: Settings) -> None:
    """The same state in Prometheus' text format (for node_exporter's textfile collector)."""
    click.echo(prometheus_text(_report(settings)).decode(), nl=False)


def _report(settings: Settings) -> HealthReport:
    try:
        return gather(settings)
    except NotRunning as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("check-licence")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def check_licence(settings: Settings, file: Path) -> None:
    """Verify a licence document (or the licence in a config.json) offline; exit 1 if refused."""
    try:
        raw = file.read_bytes()
        document = _licence_document(raw)
        issuer = load_public_key(Path(settings.issuer_key).read_bytes())
        licence = verify(document, issuer, gateway=settings.mac or None)
    except OSError as exc:
        raise click.ClickException(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except LicenceError as exc:
        raise click.ClickException(f"licence refused: {exc}") from exc
    click.echo(
        f"licence {licence.serial} valid: tenant {licence.tenant}, gateway {licence.gateway}, "
        f"{licence.channels} channels, {licence.not_before:%Y-%m-%d} to {licence.expires:%Y-%m-%d}"
    )


def _licence_document(raw: bytes) -> bytes:
    """A config.json carries the licence document under "licence"; a licence file is one."""
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw
    inner = parsed.get("licence") if isinstance(parsed, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("licence"), dict):
        return json.dumps(inner).encode()
    return raw


@main.command()
@click.pass_obj
def fetch(settings: Settings) -> None:
    """Fetch config.json from the provisioner now (a running gateway applies it by itself)."""
    _say(fetch_config(settings))


@main.command("upload-cdrs")
@click.pass_obj
def upload_cdrs_now(settings: Settings) -> None:
    """Send the CDRs the provisioner has not had yet."""
    _say(upload_cdrs(settings))


def _say(result: FetchResult | UploadResult) -> None:
    if not result.ok:
        raise click.ClickException(result.message)
    click.echo(result.message)


@main.command()
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the answer.")
@click.pass_obj
def reload(settings: Settings, timeout: float) -> None:
    """Apply config.json now, calls in progress untouched; exit 1 if it was refused."""
    try:
        before = json.loads(status_file(settings).read_text())["seq"]
        pid = int(pid_file(settings).read_text().split()[0])
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise click.ClickException(f"gateway32 is not running in {settings.state_dir}") from exc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(status_file(settings).read_text())
        if state["seq"] != before:
            if state["refused"]:
                raise click.ClickException(f"refused, the running one stays: {state['refused']}")
            licence = state["licence"]
            click.echo(f"reloaded: licence {licence['serial']}, {licence['channels']} channels")
            return
        time.sleep(0.1)
    raise click.ClickException(f"gateway32 (pid {pid}) did not reload within {timeout} s")
