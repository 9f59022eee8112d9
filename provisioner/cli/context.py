"""What every ``provisioner`` command shares: the database and settings options, the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from provisioner.app.service import Service, open_service
from provisioner.domain.errors import Conflict, Invalid, NotFound
from provisioner.domain.inventory.lifecycle import LifecycleError
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.secretbox import SecretKeyError
from provisioner.settings import Settings, SettingsError

db_option = click.option(
    "--db", "db_url", metavar="URL", help="SQLAlchemy URL (default: $PROVISIONER_DB or SQLite)."
)
config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML settings file (environment variables override it).",
)


def open_cli_service(db_url: str | None, config_file: Path | None) -> Service:
    """The service, with a bad setting or key turned into a command-line error."""
    try:
        return open_service(Settings.load(config_file, db=db_url))
    except (SettingsError, SecretKeyError) as exc:
        raise click.ClickException(str(exc)) from exc


def mac_argument(text: str) -> str:
    try:
        return normalize_mac(text)
    except BadMac as exc:
        raise click.BadParameter(str(exc), param_hint="MAC") from exc


@contextmanager
def cli_session(db_url: str | None, config_file: Path | None) -> Iterator[tuple[Service, Session]]:
    """One unit of work on the configured database; refusals become command-line errors."""
    service = open_cli_service(db_url, config_file)
    try:
        with service.db.session() as session:
            yield service, session
    except (Conflict, Invalid, NotFound, LifecycleError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        service.close()


def minute(moment: dt.datetime | None) -> str:
    """A stored time (UTC) as listings show it; a dash for none."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"
