"""What every ``provisioner`` command shares: the ``--db``, ``--config`` and ``-v`` options, the
service opened on first use, refusals turned into error messages, and the console."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from sqlalchemy.orm import Session

from firmware.catalog import Catalog, CatalogError
from provisioner.app.logs import configure_logging
from provisioner.app.service import Service, firmware_catalog, open_service
from provisioner.db.actor import Actor, acting
from provisioner.domain.errors import DomainError
from provisioner.domain.inventory.macs import BadMac, normalize_mac
from provisioner.secretbox import SecretKeyError
from provisioner.settings import ENV_PREFIX, Settings, SettingsError

F = TypeVar("F", bound=Callable[..., Any])

# What a command refuses for a reason the user can fix: the message says which, exit status 1.
REFUSALS = (DomainError, SettingsError, SecretKeyError, CatalogError)

LOG_FORMAT_ENV = ENV_PREFIX + "LOG_FORMAT"  # read before the settings: options log early

# Piped output is read by grep and scripts: a table cut to 80 columns would hide rows' ends.
PIPED_WIDTH = 10_000


class CliContext:
    """One invocation's options and service (``ctx.obj``).

    The service is opened on first use, so commands that never touch the database (``--help``,
    ``firmware list``) neither create nor upgrade one; it is closed when the command ends.
    """

    def __init__(self) -> None:
        self.db_url: str | None = None
        self.config_file: Path | None = None
        self.verbose = False
        self._settings: Settings | None = None
        self._service: Service | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.config_file, db=self.db_url)
            configure_logging(self._settings.log_format, self.verbose)  # the file may set it
        return self._settings

    @property
    def service(self) -> Service:
        if self._service is None:
            self._service = open_service(self.settings)
            click.get_current_context().find_root().call_on_close(self._service.close)
        return self._service

    @property
    def catalog(self) -> Catalog:
        """The service's catalog once it is open; before, one that needs no database."""
        if self._service is not None:
            return self._service.catalog
        return firmware_catalog(self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work on the configured database."""
        with self.service.db.session() as session:
            yield session


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


class ProvisionerGroup(click.Group):
    """The main group: the one place a refusal from any command becomes an error message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with acting(Actor(f"cli {_login_name()}", "cli", role="operator")):
                return super().invoke(ctx)
        except REFUSALS as exc:
            raise click.ClickException(str(exc)) from exc


def _login_name() -> str:
    """Who runs the command, for the history (the operator's login on the server)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> None:
    """Given at the group or at the command: the command's, being parsed last, wins."""
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(CliContext), param.name, value)


def _verbosity(ctx: click.Context, _param: click.Parameter, verbose: bool) -> None:
    cli = ctx.ensure_object(CliContext)
    cli.verbose = cli.verbose or verbose
    configure_logging(os.environ.get(LOG_FORMAT_ENV, "text"), cli.verbose)


_SERVICE_OPTIONS = (
    click.option(
        "--db",
        "db_url",
        metavar="URL",
        expose_value=False,
        callback=_remember,
        help="SQLAlchemy URL (default: $PROVISIONER_DB or SQLite).",
    ),
    click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember,
        help="TOML settings file (environment variables override it).",
    ),
    click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_verbosity,
        help="Log at DEBUG level.",
    ),
)


def service_options(command: F) -> F:
    """``--db``, ``--config`` and ``-v``, for the main group and every command: scripts write
    them after the command (``provisioner device show MAC --db URL``) as well as before it."""
    for option in reversed(_SERVICE_OPTIONS):
        command = option(command)
    return command


def console(*, stderr: bool = False) -> Console:
    """Rich output; piped (not a terminal), never folded or cut to 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def mac_argument(text: str) -> str:
    try:
        return normalize_mac(text)
    except BadMac as exc:
        raise click.BadParameter(str(exc), param_hint="MAC") from exc


def minute(moment: dt.datetime | None) -> str:
    """A stored time (UTC) as listings show it; a dash for none."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"
