"""The PBX core's SQLite database in the layout Kamailio 5.6 reads (auth_db, alias_db, and the
presence and pua tables of BLF).

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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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
# BLF (presence, pua): Debian's presence-create.sql. The core keeps subscriptions and
# publications in memory; the modules still check these tables at start and may restore from
# them, so they exist, empty.
_S, _L, _T = String(64), String(255), String(128)
presence_tables = (
    Table(
        "presentity", metadata,
        Column("id", Integer, primary_key=True),
        *(Column(n, t, nullable=False) for n, t in (
            ("username", _S), ("domain", _S), ("event", _S), ("etag", _T), ("expires", Integer),
            ("received_time", Integer), ("body", LargeBinary), ("sender", _L))),
        Column("priority", Integer, nullable=False, default=0),
        Column("ruid", String(64), unique=True),
        UniqueConstraint("username", "domain", "event", "etag", name="presentity_presentity_idx"),
    ),
    Table(
        "active_watchers", metadata,
        Column("id", Integer, primary_key=True),
        *(Column(n, t, nullable=False) for n, t in (
            ("presentity_uri", _L), ("watcher_username", _S), ("watcher_domain", _S),
            ("to_user", _S), ("to_domain", _S))),
        Column("event", _S, nullable=False, default="presence"),
        Column("event_id", _S),
        *(Column(n, t, nullable=False) for n, t in (
            ("to_tag", _T), ("from_tag", _T), ("callid", _L), ("local_cseq", Integer),
            ("remote_cseq", Integer), ("contact", _L))),
        Column("record_route", Text),
        Column("expires", Integer, nullable=False),
        Column("status", Integer, nullable=False, default=2),
        Column("reason", _S),
        Column("version", Integer, nullable=False, default=0),
        *(Column(n, t, nullable=False) for n, t in (
            ("socket_info", _S), ("local_contact", _L), ("from_user", _S), ("from_domain", _S),
            ("updated", Integer), ("updated_winfo", Integer))),
        Column("flags", Integer, nullable=False, default=0),
        Column("user_agent", _L, default=""),
        UniqueConstraint("callid", "to_tag", "from_tag",
                         name="active_watchers_active_watchers_idx"),
    ),
    Table(
        "watchers", metadata,
        Column("id", Integer, primary_key=True),
        *(Column(n, t, nullable=False) for n, t in (
            ("presentity_uri", _L), ("watcher_username", _S), ("watcher_domain", _S))),
        Column("event", _S, nullable=False, default="presence"),
        Column("status", Integer, nullable=False),
        Column("reason", _S),
        Column("inserted_time", Integer, nullable=False),
        UniqueConstraint("presentity_uri", "watcher_username", "watcher_domain", "event",
                         name="watchers_watcher_idx"),
    ),
    Table(
        "pua", metadata,
        Column("id", Integer, primary_key=True),
        *(Column(n, t, nullable=False) for n, t in (
            ("pres_uri", _L), ("pres_id", _L), ("event", Integer), ("expires", Integer),
            ("desired_expires", Integer), ("flag", Integer), ("etag", _T))),
        Column("tuple_id", _S),
        *(Column(n, t, nullable=False) for n, t in (
            ("watcher_uri", _L), ("call_id", _L), ("to_tag", _T), ("from_tag", _T),
            ("cseq", Integer))),
        Column("record_route", Text),
        *(Column(n, t, nullable=False) for n, t in (
            ("contact", _L), ("remote_contact", _L), ("version", Integer),
            ("extra_headers", Text))),
        UniqueConstraint("etag", "tuple_id", "call_id", "from_tag", name="pua_pua_idx"),
    ),
)  # fmt: skip
VERSIONS = {"version": 1, "subscriber": 7, "dbaliases": 1, "presentity": 5, "active_watchers": 12,
            "watchers": 3, "pua": 7}  # fmt: skip


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
