"""``provisioner firmware``: the image catalog the front doors serve from
(docs/architecture.md, 'Interfaces'),
rollouts that walk a model's devices to a target version, and per-device holds and pins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.orm import Session

from firmware.catalog import Catalog, CatalogError, Image
from firmware.versions import VENDORS
from firmware.watch import DEFAULT_FAILURE_PERCENT, DEFAULT_LOOP_LIMIT
from provisioner.cli.context import cli_session, config_option, db_option
from provisioner.db.models import Device
from provisioner.domain.firmware import progress as firmware_status
from provisioner.domain.firmware import rollouts as firmware_domain
from provisioner.domain.inventory.devices import get_device
from provisioner.settings import Settings, SettingsError


def _catalog(config_file: Path | None) -> Catalog:
    """The same directory ``serve`` uses: $PROVISIONER_FIRMWARE_DIR or the TOML file."""
    try:
        return Catalog(Settings.load(config_file).firmware_dir)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _describe(image: Image) -> str:
    lines = [
        f"id:                 {image.id}",
        f"vendor:             {image.vendor}",
        f"version:            {image.version}",
        f"models:             {', '.join(image.models)}",
        f"hardware revisions: {', '.join(image.hardware_revisions) or 'any'}",
        f"min version:        {image.min_version or 'none'}",
        f"sha256:             {image.sha256}",
        f"size:               {image.size}",
        f"file name:          {image.filename}",
        f"imported at:        {image.imported_at}",
    ]
    return "\n".join(lines)


@click.group("firmware")
def firmware() -> None:
    """Firmware images (import, list, show, remove), rollouts, and holds and pins per device."""


@firmware.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--vendor", required=True, type=click.Choice(VENDORS))
@click.option("--model", "models", multiple=True, required=True, help="Repeat for each model.")
@click.option("--version", "version", required=True, help="e.g. 1.0.11.79 or 01.133")
@click.option("--min-version", help="The oldest firmware that can upgrade to this image.")
@click.option("--hw-rev", "hw_revs", multiple=True, help="Hardware revision (repeatable).")
@config_option
def import_image(
    file: Path,
    vendor: str,
    models: tuple[str, ...],
    version: str,
    min_version: str | None,
    hw_revs: tuple[str, ...],
    config_file: Path | None,
) -> None:
    """Copy FILE into the catalog; prints the new image's id and file name."""
    try:
        image = _catalog(config_file).import_image(
            file, vendor, models, version, hardware_revisions=hw_revs, min_version=min_version
        )
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_describe(image))


@firmware.command("list")
@config_option
def list_images(config_file: Path | None) -> None:
    """One line per image: id, vendor, version, models, file name."""
    for image in _catalog(config_file).list_images():
        click.echo(
            f"{image.id}  {image.vendor:<11}  {image.version:<12}  "
            f"{','.join(image.models)}  {image.filename}"
        )


@firmware.command("show")
@click.argument("image_id")
@config_option
def show(image_id: str, config_file: Path | None) -> None:
    """Every field of one image."""
    try:
        click.echo(_describe(_catalog(config_file).show(image_id)))
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc


@firmware.command("remove")
@click.argument("image_id")
@db_option
@config_option
def remove(image_id: str, db_url: str | None, config_file: Path | None) -> None:
    """Drop an image; refused while a rollout or a pin uses it. Its blob goes when no other
    image has the same bytes."""
    with cli_session(db_url, config_file) as (_, session):
        users = firmware_domain.rollouts_using(session, image_id)
        if users:
            raise click.ClickException(
                f"image {image_id} is used by {', '.join(users)}: delete the rollout "
                "(or unpin the device) first"
            )
        try:
            image = _catalog(config_file).remove(image_id)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"removed {image.id} ({image.filename})")


@firmware.group("rollout")
def rollout() -> None:
    """Staged rollouts: a canary wave, then the rest, through required versions."""


@rollout.command("create")
@click.argument("name")
@click.option("--model", required=True, help="e.g. GXP2170 or KX-HDV230")
@click.option("--target", required=True, help="The version every device ends at.")
@click.option("--via", multiple=True, help="A required intermediate version (repeatable).")
@click.option("--tenant", help="Only this tenant's devices.")
@click.option("--device", "devices", multiple=True, help="Only these MACs (repeatable).")
@click.option("--hw-rev", "hw_revs", multiple=True, help="Only these hardware revisions.")
@click.option("--canary", multiple=True, help="A MAC in the first wave (repeatable).")
@click.option("--canary-percent", type=click.IntRange(0, 100), default=0, show_default=True)
@click.option(
    "--pause",
    "pause_seconds",
    type=click.IntRange(min=0),
    help="Seconds until the rest follow the canaries; without it, `rollout release` starts them.",
)
@click.option(
    "--loop-limit",
    type=click.IntRange(min=2),
    default=DEFAULT_LOOP_LIMIT,
    show_default=True,
    help="Whole downloads of one image, version unchanged: held.",
)
@click.option(
    "--failure-threshold",
    "failure_percent",
    type=click.IntRange(0, 100),
    default=DEFAULT_FAILURE_PERCENT,
    show_default=True,
    help="Percent of a wave looping that pauses the rollout.",
)
@db_option
@config_option
def create_rollout(
    name: str,
    model: str,
    target: str,
    via: tuple[str, ...],
    tenant: str | None,
    devices: tuple[str, ...],
    hw_revs: tuple[str, ...],
    canary: tuple[str, ...],
    canary_percent: int,
    pause_seconds: int | None,
    loop_limit: int,
    failure_percent: int,
    db_url: str | None,
    config_file: Path | None,
) -> None:
    """Start a rollout; the canary wave starts now."""  # fmt: skip
    spec = firmware_domain.RolloutSpec(
        name, model, target, via, tenant, devices, hw_revs, canary, canary_percent,
        pause_seconds, loop_limit, failure_percent,
    )  # fmt: skip
    with cli_session(db_url, config_file) as (_, session):
        created = firmware_domain.create_rollout(session, _catalog(config_file), spec)
        steps = " -> ".join(step["version"] for step in created.steps)  # type: ignore[misc]
    click.echo(f"rollout {name}: {model} through {steps}")


@rollout.command("list")
@db_option
@config_option
def list_rollouts(db_url: str | None, config_file: Path | None) -> None:
    """One line per rollout: name, state, model, steps."""
    with cli_session(db_url, config_file) as (_, session):
        for row in firmware_domain.list_rollouts(session):
            steps = " -> ".join(str(step["version"]) for step in row.steps)
            reason = f" ({row.paused_reason})" if row.paused_reason else ""
            click.echo(f"{row.name}  {row.state}{reason}  {row.model}  {steps}")


def _show_progress(report: firmware_status.RolloutProgress, console: Console) -> None:
    row, progress = report.rollout, report.progress
    reason = f": {escape(row.paused_reason)}" if row.paused_reason else ""
    console.print(
        f"[bold]{row.name}[/] {row.model} -> {row.steps[-1]['version']} ({row.state}{reason})"
    )
    with Progress(
        TextColumn("at target"), BarColumn(), MofNCompleteColumn(), console=console,
        transient=False,
    ) as bar:  # fmt: skip
        bar.add_task("", total=max(progress.total, 1), completed=progress.at_target)
    console.print(
        ", ".join(f"{status} {count}" for status, count in sorted(progress.counts.items()))
    )


@rollout.command("progress")
@click.argument("name")
@click.option("--devices", "show_devices", is_flag=True, help="One line per device too.")
@db_option
@config_option
def progress(name: str, show_devices: bool, db_url: str | None, config_file: Path | None) -> None:
    """How many devices are at the target, upgrading, waiting, held or blocked."""
    console = Console()
    with cli_session(db_url, config_file) as (_, session):
        report = firmware_status.rollout_progress(session, name)
        _show_progress(report, console)
        if show_devices:
            for mac, decision in report.devices:
                offer = decision.offer.version if decision.offer else "-"
                console.print(f"  {mac}  {decision.status:<15} next {offer:<12} {decision.reason}")


def _rollout_action(verb: str, done: str, action: Callable[[Session, str], None], doc: str) -> None:
    @rollout.command(verb, help=doc)
    @click.argument("name")
    @db_option
    @config_option
    def command(name: str, db_url: str | None, config_file: Path | None) -> None:
        with cli_session(db_url, config_file) as (_, session):
            action(session, name)
        click.echo(f"rollout {name}: {done}")


_rollout_action("pause", "paused", firmware_domain.pause_rollout, "Stop offering upgrades for now.")
_rollout_action("resume", "resumed", firmware_domain.resume_rollout, "Offer upgrades again.")
_rollout_action(
    "release", "rest released", firmware_domain.release_rest, "Start the rest of the devices now."
)
_rollout_action("delete", "deleted", firmware_domain.delete_rollout, "Forget the rollout.")


@firmware.command("hold")
@click.argument("mac")
@click.option("--reason", default="held by an operator", show_default=True)
@db_option
@config_option
def hold(mac: str, reason: str, db_url: str | None, config_file: Path | None) -> None:
    """Tell this device not to upgrade, whatever its rollout says."""
    with cli_session(db_url, config_file) as (_, session):
        device = firmware_domain.hold(session, mac, reason)
    click.echo(f"{device.mac}: held")


@firmware.command("pin")
@click.argument("mac")
@click.argument("version")
@db_option
@config_option
def pin(mac: str, version: str, db_url: str | None, config_file: Path | None) -> None:
    """Make VERSION this device's target (through its rollout's lower steps), waves aside."""
    with cli_session(db_url, config_file) as (_, session):
        device = firmware_domain.pin(session, _catalog(config_file), mac, version)
    click.echo(f"{device.mac}: pinned to {version}")


def _device_action(
    verb: str, done: str, action: Callable[[Session, str], Device], doc: str
) -> None:
    @firmware.command(verb, help=doc)
    @click.argument("mac")
    @db_option
    @config_option
    def command(mac: str, db_url: str | None, config_file: Path | None) -> None:
        with cli_session(db_url, config_file) as (_, session):
            device = action(session, mac)
        click.echo(f"{device.mac}: {done}")


_device_action("unhold", "released", firmware_domain.unhold,
               "Release a hold (an operator's or the loop detector's).")  # fmt: skip
_device_action("unpin", "unpinned", firmware_domain.unpin, "Let the device's rollout decide again.")


@firmware.command("status")
@click.argument("mac")
@db_option
@config_option
def status(mac: str, db_url: str | None, config_file: Path | None) -> None:
    """What the device runs, its target and the step it is told to install next."""
    with cli_session(db_url, config_file) as (_, session):
        found = firmware_status.firmware_progress(session, get_device(session, mac))
    click.echo(
        f"reported: {found.reported or 'unknown'}\ntarget: {found.target or 'none'}\n"
        f"next step: {found.next_step or 'none'}\nstatus: {found.status}"
    )
