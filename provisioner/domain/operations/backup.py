"""Backups of the inventory and their restore (docs/operations.md, 'Backups').

A backup is one tar file: ``manifest.json`` (schema revision, key fingerprint, counts) and the
database itself, a SQLite copy taken with SQLite's online backup API or a ``pg_dump`` archive.
Both read one consistent snapshot while the service keeps serving (and writing its timeline).

The secrets inside stay encrypted under the service key, which is never in the backup: the
manifest names the key by its fingerprint only, and a restore refuses, before it writes
anything, a backup made under another key or by a newer version of the schema.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from provisioner.db.models import Account, Device
from provisioner.db.session import Database
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.operations.keys import check_key
from provisioner.domain.operations.readiness import code_head, schema_revision
from provisioner.secretbox import SecretBox

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "inventory.sqlite"
POSTGRES_MEMBER = "inventory.pgdump"
TOOL_TIMEOUT = 3600  # seconds: pg_dump of a large inventory over a slow link


@dataclass(frozen=True)
class Manifest:
    """What a restore checks before it writes anything; never a secret."""

    format: int
    created_at: str
    backend: str  # "sqlite" or "postgresql"
    schema_revision: str  # the Alembic revision of the database copied
    key_fingerprint: str  # SecretBox.fingerprint() of the key its secrets are encrypted under
    devices: int
    accounts: int

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            values = json.loads(raw)
            manifest = cls(**values)
        except (ValueError, TypeError) as exc:
            raise Invalid(f"the backup's {MANIFEST} is not one this version writes") from exc
        if manifest.format != FORMAT:
            raise Invalid(f"backup format {manifest.format} is not {FORMAT}")
        return manifest


def backend_of(db: Database) -> str:
    name = make_url(db.url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise Invalid(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def create_backup(db: Database, box: SecretBox, target: Path) -> Manifest:
    """Write a backup of ``db`` to ``target`` (replaced only once the backup is complete)."""
    backend = backend_of(db)
    with db.engine.connect() as connection:
        revision = schema_revision(connection)
        if revision is None:
            raise Invalid("the database has no schema yet: nothing to back up")
        check_key(db, box)  # a fingerprint of a key that opens nothing would lie
        devices = connection.execute(select(func.count()).select_from(Device)).scalar_one()
        accounts = connection.execute(select(func.count()).select_from(Account)).scalar_one()
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        copy = Path(work) / (SQLITE_MEMBER if backend == "sqlite" else POSTGRES_MEMBER)
        if backend == "sqlite":
            revision = _sqlite_copy(_sqlite_path(db), copy)
        else:
            _run_tool("pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                      "--file", str(copy), _libpq_url(db))  # fmt: skip
        manifest = Manifest(
            format=FORMAT,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            backend=backend,
            schema_revision=revision,
            key_fingerprint=box.fingerprint(),
            devices=devices,
            accounts=accounts,
        )
        partial = Path(work) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            info = tarfile.TarInfo(MANIFEST)
            body = manifest.to_json()
            info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
            archive.addfile(info, io.BytesIO(body))
            archive.add(copy, arcname=copy.name)
        partial.chmod(0o600)  # encrypted secrets, but still the whole inventory
        partial.replace(target)
    return manifest


def read_manifest(source: Path) -> Manifest:
    try:
        with tarfile.open(source, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise Invalid(f"{source} has no {MANIFEST}")
            return Manifest.from_json(member.read())
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise Invalid(f"{source} is not a provisioner backup ({exc})") from exc


def check_restorable(db: Database, box: SecretBox, manifest: Manifest) -> None:
    """Every reason to refuse, checked before the database is touched."""
    backend = backend_of(db)
    if manifest.backend != backend:
        raise Conflict(
            f"the backup is of a {manifest.backend} database; this one is {backend}: "
            "restore it onto the same kind of database"
        )
    if manifest.key_fingerprint not in box.fingerprints():
        raise Conflict(
            f"the backup was made under the key with fingerprint {manifest.key_fingerprint}; "
            f"the configured PROVISIONER_SECRET_KEY is {box.fingerprint()}: configure the key "
            "the backup was made with (nothing was written)"
        )
    script = ScriptDirectory.from_config(db.alembic_config())
    try:
        script.get_revision(manifest.schema_revision)
    except CommandError as exc:
        raise Conflict(
            f"the backup's schema revision {manifest.schema_revision} is newer than this "
            f"version knows (head {code_head()}): restore it with the version "
            "that made it (nothing was written)"
        ) from exc


def restore_backup(db: Database, box: SecretBox, source: Path) -> Manifest:
    """Replace the database's contents with the backup's, then bring the schema to head.

    Stop ``serve`` first: workers holding the old rows in their caches would serve them.
    """
    manifest = read_manifest(source)
    check_restorable(db, box, manifest)
    member = SQLITE_MEMBER if manifest.backend == "sqlite" else POSTGRES_MEMBER
    with tempfile.TemporaryDirectory() as work, tarfile.open(source, "r") as archive:
        archive.extract(member, work, filter="data")
        copy = Path(work) / member
        if manifest.backend == "sqlite":
            _sqlite_restore(copy, _sqlite_path(db))
        else:
            db.engine.dispose()
            with db.engine.begin() as connection:  # what a newer schema added goes too
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            _run_tool("pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                      "--exit-on-error", "--dbname", _libpq_url(db), str(copy))  # fmt: skip
    db.engine.dispose()
    db.upgrade()
    return manifest


def _sqlite_path(db: Database) -> Path:
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise Invalid("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, copy: Path) -> str:
    """SQLite's online backup: a consistent copy while other connections write."""
    with (
        closing(sqlite3.connect(source, timeout=30)) as live,
        closing(sqlite3.connect(copy)) as out,
    ):
        live.backup(out, pages=1024)  # in steps: writers wait for one step, not the whole copy
        out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        revision = out.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision[0])


def _sqlite_restore(copy: Path, target: Path) -> None:
    """Through SQLite's backup API into the target: its WAL and locks stay coherent."""
    with (
        closing(sqlite3.connect(copy)) as backup,
        closing(sqlite3.connect(target, timeout=30)) as live,
    ):
        backup.backup(live)


def _libpq_url(db: Database) -> str:
    """The URL as libpq's tools read it (no SQLAlchemy driver suffix)."""
    url = make_url(db.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run_tool(name: str, *args: str) -> None:
    found = shutil.which(name)
    if found is None:
        raise Invalid(f"{name} is not installed (Debian: postgresql-client)")
    done = subprocess.run([found, *args], capture_output=True, timeout=TOOL_TIMEOUT, check=False)
    if done.returncode != 0:
        raise Invalid(f"{name} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
