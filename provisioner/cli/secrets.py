"""``provisioner secrets``: the service key that encrypts every stored secret."""

from __future__ import annotations

import os

import click

from provisioner.app.service import key_file, open_storage
from provisioner.cli.context import CliContext, console, pass_cli, service_options
from provisioner.domain.operations.keys import BATCH, Rotation, rotate_key


@click.group()
def secrets() -> None:
    """The secret key."""


@secrets.command("rotate-key")
@click.option(
    "--new-key", envvar="PROVISIONER_NEW_SECRET_KEY", required=True, metavar="KEY",
    help="The new Fernet key (or $PROVISIONER_NEW_SECRET_KEY, which stays out of `ps`).",
)  # fmt: skip
@click.option(
    "--batch", default=BATCH, show_default=True,
    help="Secrets per transaction: a fetch waits for one batch at most.",
)  # fmt: skip
@service_options
@pass_cli
def rotate(cli: CliContext, new_key: str, batch: int) -> None:
    """Re-encrypt every secret under a new key, in batches, while the service runs.

    Interrupted, run it again with the same keys: it finishes. Then restart every process with
    the new key (a key file beside a SQLite database is replaced here)."""
    db, box = open_storage(cli.settings)
    out = console(stderr=True)

    def progress(done: Rotation) -> None:
        out.print(f"re-encrypted {done.rewritten} secrets", end="\r")

    try:
        done = rotate_key(db, box, new_key.strip(), batch=batch, after_batch=progress)
    finally:
        db.dispose()
    out.print(f"re-encrypted {done.rewritten} secrets ({done.already} were already done)")
    if cli.settings.secret_key:
        out.print("now set PROVISIONER_SECRET_KEY to the new key in every process and restart")
        return
    path = key_file(cli.settings)
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_key.strip() + "\n")
    fresh.replace(path)
    out.print(f"{path} now holds the new key: restart serve")
