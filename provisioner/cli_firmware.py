"""``provisioner firmware``: the image catalog the front doors serve from (DESIGN.md §3)."""

from __future__ import annotations

from pathlib import Path

import click

from firmware.catalog import Catalog, CatalogError, Image
from firmware.versions import VENDORS
from provisioner.cli_common import config_option
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
    """Firmware images: import, list, show, remove."""


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
@config_option
def remove(image_id: str, config_file: Path | None) -> None:
    """Drop an image; its blob goes when no other image has the same bytes."""
    try:
        image = _catalog(config_file).remove(image_id)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"removed {image.id} ({image.filename})")
