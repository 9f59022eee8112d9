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

from firmware.catalog import Image
from firmware.versions import VENDORS
from firmware.watch import DEFAULT_FAILURE_PERCENT, DEFAULT_LOOP_LIMIT
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.db.models import Device
from provisioner.domain.firmware import progress as firmware_status
from provisioner.domain.firmware import rollouts as firmware_domain
from provisioner.domain.inventory.devices import get_device


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
@service_options
@pass_cli
def import_image(
    cli: CliContext,
    file: Path,
    vendor: str,
    models: tuple[str, ...],
    version: str,
    min_version: str | None,
    hw_revs: tuple[str, ...],
) -> None:
    """Copy FILE into the catalog; prints the new image's id and file name."""
    image = cli.catalog.import_image(
        file, vendor, models, version, hardware_revisions=hw_revs, min_version=min_version
    )
    click.echo(_describe(image))


@firmware.command("list")
@service_options
@pass_cli
def list_images(cli: CliContext) -> None:
    """One line per image: id, vendor, version, models, file name."""
    for image in cli.catalog.list_images():
        click.echo(
            f"{image.id}  {image.vendor:<11}  {image.version:<12}  "
            f"{','.join(image.models)}  {image.filename}"
        )


@firmware.command("show")
@click.argument("image_id")
@service_options
@pass_cli
def show(cli: CliContext, image_id: str) -> None:
    """Every field of one image."""
    click.echo(_describe(cli.catalog.show(image_id)))


@firmware.command("remove")
@click.argument("image_id")
@service_options
@pass_cli
def remove(cli: CliContext, image_id: str) -> None:
    """Drop an image; refused while a rollout or a pin uses it. Its blob goes when no other
    image has the same bytes."""
    with cli.session() as session:
        users = firmware_domain.rollouts_using(session, image_id)
        if users:
            raise click.ClickException(
                f"image {image_id} is used by {', '.join(users)}: delete the rollout "
                "(or unpin the device) first"
            )
        image = cli.catalog.remove(image_id)
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
@service_options
@pass_cli
def create_rollout(
    cli: CliContext,
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
) -> None:
    """Start a rollout; the canary wave starts now."""  # fmt: skip
    spec = firmware_domain.RolloutSpec(
        name, model, target, via, tenant, devices, hw_revs, canary, canary_percent,
        pause_seconds, loop_limit, failure_percent,
    )  # fmt: skip
    with cli.session() as session:
        created = firmware_domain.create_rollout(session, cli.catalog, spec)
        steps = " -> ".join(step["version"] for step in created.steps)  # type: ignore[misc]
    click.echo(f"rollout {name}: {model} through {steps}")


@rollout.command("list")
@service_options
@pass_cli
def list_rollouts(cli: CliContext) -> None:
    """One line per rollout: name, state, model, steps."""
    with cli.session() as session:
        for row in firmware_domain.list_rollouts(session):
            steps = " -> ".join(str(step["version"]) for step in row.steps)
            reason = f" ({row.paused_reason})" if row.paused_reason else ""
            click.echo(f"{row.name}  {row.state}{reason}  {row.model}  {steps}")


def _show_progress(report: firmware_status.RolloutProgress, out: Console) -> None:
    row, progress = report.rollout, report.progress
    reason = f": {escape(row.paused_reason)}" if row.paused_reason else ""
    out.print(
        f"[bold]{row.name}[/] {row.model} -> {row.steps[-1]['version']} ({row.state}{reason})"
    )
    with Progress(
        TextColumn("at target"), BarColumn(), MofNCompleteColumn(), console=out,
        transient=False,
    ) as bar:  # fmt: skip
        bar.add_task("", total=max(progress.total, 1), completed=progress.at_target)
    out.print(", ".join(f"{status} {count}" for status, count in sorted(progress.counts.items())))


@rollout.command("progress")
@click.argument("name")
@click.option("--devices", "show_devices", is_flag=True, help="One line per device too.")
@service_options
@pass_cli
def progress(cli: CliContext, name: str, show_devices: bool) -> None:
    """How many devices are at the target, upgrading, waiting, held or blocked."""
    out = console()
    with cli.session() as session:
        report = firmware_status.rollout_progress(session, name)
        _show_progress(report, out)
        if show_devices:
            for mac, decision in report.devices:
                offer = decision.offer.version if decision.offer else "-"
                out.print(f"  {mac}  {decision.status:<15} next {offer:<12} {decision.reason}")


def _rollout_action(verb: str, done: str, action: Callable[[Session, str], None], doc: str) -> None:
    @rollout.command(verb, help=doc)
    @click.argument("name")
    @service_options
    @pass_cli
    def command(cli: CliContext, name: str) -> None:
        with cli.session() as session:
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
@service_options
@pass_cli
def hold(cli: CliContext, mac: str, reason: str) -> None:
    """Tell this device not to upgrade, whatever its rollout says."""
    with cli.session() as session:
        device = firmware_domain.hold(session, mac, reason)
    click.echo(f"{device.mac}: held")


@firmware.command("pin")
@click.argument("mac")
@click.argument("version")
@service_options
@pass_cli
def pin(cli: CliContext, mac: str, version: str) -> None:
    """Make VERSION this device's target (through its rollout's lower steps), waves aside."""
    with cli.session() as session:
        device = firmware_domain.pin(session, cli.catalog, mac, version)
    click.echo(f"{device.mac}: pinned to {version}")


def _device_action(
    verb: str, done: str, action: Callable[[Session, str], Device], doc: str
) -> None:
    @firmware.command(verb, help=doc)
    @click.argument("mac")
    @service_options
    @pass_cli
    def command(cli: CliContext, mac: str) -> None:
        with cli.session() as session:
            device = action(session, mac)
        click.echo(f"{device.mac}: {done}")


_device_action("unhold", "released", firmware_domain.unhold,
               "Release a hold (an operator's or the loop detector's).")  # fmt: skip
_device_action("unpin", "unpinned", firmware_domain.unpin, "Let the device's rollout decide again.")


@firmware.command("status")
@click.argument("mac")
@service_options
@pass_cli
def status(cli: CliContext, mac: str) -> None:
    """What the device runs, its target and the step it is told to install next."""
    with cli.session() as session:
        found = firmware_status.firmware_progress(session, get_device(session, mac))
    click.echo(
        f"reported: {found.reported or 'unknown'}\ntarget: {found.target or 'none'}\n"
        f"next step: {found.next_step or 'none'}\nstatus: {found.status}"
    )
