"""Whether this process can serve: the database answers and its schema is the code's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from provisioner.db.session import MIGRATIONS, Database


@dataclass(frozen=True)
class Readiness:
    database: bool
    schema: str | None  # the database's Alembic revision
    head: str  # the code's newest

    @property
    def ready(self) -> bool:
        return self.database and self.schema == self.head


def schema_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at; None before the first migration."""
    try:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:  # no table: never migrated
        connection.rollback()
        return None
    return None if found is None else str(found)


@cache
def code_head() -> str:
    """The newest migration, read from the scripts once per process (probes come often)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def readiness(db: Database) -> Readiness:
    head = code_head()
    try:
        with db.engine.connect() as connection:
            return Readiness(True, schema_revision(connection), head)
    except SQLAlchemyError:
        return Readiness(False, None, head)
