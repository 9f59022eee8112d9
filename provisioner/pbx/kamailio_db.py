"""The PBX core's SQLite database in the layout Kamailio 5.6 reads (auth_db, alias_db).

The tables are those of Debian's ``/usr/share/kamailio/db_sqlite/{auth_db,alias_db}-create.sql``
with their ``version`` rows (Kamailio refuses a table whose version it does not know), plus
``tenant``, ``extension`` and ``caller_id`` columns on ``subscriber`` that the core loads as
AVPs (a database an older export made gets the newer columns added). An export replaces the
rows in one transaction, in place: a running Kamailio keeps its open file and sees the old rows
or the new ones, never a mix.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import Connection

from provisioner.pbx.directory import Directory

metadata = MetaData()
version = Table(
    "version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("table_name", String(32), nullable=False, unique=True),
    Column("table_version", Integer, nullable=False, default=0),
)
subscriber = Table(
    "subscriber",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, default="", index=True),
    Column("domain", String(64), nullable=False, default=""),
    Column("password", String(64), nullable=False, default=""),  # stays empty: HA1 only
    Column("ha1", String(128), nullable=False, default=""),
    Column("ha1b", String(128), nullable=False, default=""),
    Column("tenant", String(100), nullable=False, default=""),
    Column("extension", String(4), nullable=False, default=""),
    Column("caller_id", String(20), nullable=False, default=""),  # asserted to the gateway
    Column("desk_macs", String(255), nullable=False, default=""),  # desk phone first
    UniqueConstraint("username", "domain", name="subscriber_account_idx"),
)
dbaliases = Table(
    "dbaliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alias_username", String(64), nullable=False, default="", index=True),
    Column("alias_domain", String(64), nullable=False, default=""),
    Column("username", String(64), nullable=False, default=""),
    Column("domain", String(64), nullable=False, default=""),
)
# Ours, read by the core's sqlops: a representative number carries at most max_calls at once.
representative = Table(
    "representative",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("tenant", String(100), nullable=False),
    Column("max_calls", Integer, nullable=False),
)
VERSIONS = {"version": 1, "subscriber": 7, "dbaliases": 1}


def _add_new_columns(connection: Connection) -> None:
    """A database an older export made lacks the columns added since: add them, empty."""
    present = {column["name"] for column in inspect(connection).get_columns("subscriber")}
    for column in subscriber.columns:
        if column.name not in present:
            kind = column.type.compile(connection.dialect)
            connection.execute(
                text(f"ALTER TABLE subscriber ADD COLUMN {column.name} {kind} NOT NULL DEFAULT ''")
            )


def write_directory(path: Path, directory: Directory) -> None:
    """Create the tables if needed and replace every subscriber and alias."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            _add_new_columns(connection)
            connection.execute(delete(version))
            connection.execute(
                insert(version),
                [{"table_name": name, "table_version": v} for name, v in VERSIONS.items()],
            )
            connection.execute(delete(subscriber))
            connection.execute(delete(dbaliases))
            connection.execute(delete(representative))
            if directory.representatives:
                connection.execute(
                    insert(representative), [vars(row) for row in directory.representatives]
                )
            if directory.subscribers:
                connection.execute(
                    insert(subscriber),
                    [vars(row) | {"password": ""} for row in directory.subscribers],
                )
            if directory.aliases:
                connection.execute(insert(dbaliases), [vars(row) for row in directory.aliases])
    finally:
        engine.dispose()
