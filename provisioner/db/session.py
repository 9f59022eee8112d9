"""The engine, the session factory and schema upgrades (Alembic) for one database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from provisioner.db import audit, render_changes
from provisioner.db.models import (
    RENDERED_MODELS,
    Account,
    Device,
    DeviceLine,
    InventoryRevision,
    Tenant,
)

MIGRATIONS = Path(__file__).with_name("migrations")

# A scheduled change is checked by running its request with every unit of work rolled back
# (rehearsal), then applied by running it again inside the scheduler's claim: every unit of
# work joins that one transaction, so the change and its "applied" mark commit together.
_rehearsing: ContextVar[bool] = ContextVar("provisioner_rehearsing", default=False)
_ambient: ContextVar[Session | None] = ContextVar("provisioner_ambient_session", default=None)


@contextmanager
def rehearsal() -> Iterator[None]:
    """Inside, every unit of work is rolled back instead of committed."""
    token = _rehearsing.set(True)
    try:
        yield
    finally:
        _rehearsing.reset(token)


def rehearsing() -> bool:
    return _rehearsing.get()


@contextmanager
def joined(session: Session) -> Iterator[None]:
    """Inside, every unit of work is ``session`` and commits nothing: its owner commits."""
    token = _ambient.set(session)
    try:
        yield
    finally:
        _ambient.reset(token)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets fetches read while an import writes; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def _bump_revision(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Any flushed change to a row that ends up in a rendered file moves the revision (once
    per transaction) and records whose files it may change (``db.render_changes``)."""
    touched = (
        *(o for o in session.dirty if session.is_modified(o, include_collections=False)),
        *session.deleted,
    )
    if not any(isinstance(obj, RENDERED_MODELS) for obj in (*session.new, *touched)):
        return
    connection = session.connection()
    revision = session.info.get("revision")
    if revision is None:
        revision = session.info["revision"] = render_changes.bump(connection)
    recorded: set[str] = session.info.setdefault("render_subjects", set())
    changed = render_changes.subjects(connection, session.new, touched) - recorded
    if changed:
        render_changes.record(connection, revision, changed)
        recorded |= changed


def _bump_on_bulk_write(state: ORMExecuteState) -> None:
    """A bulk INSERT, UPDATE or DELETE of rendered rows flushes no objects, so nobody knows
    whose files it changes: it moves the revision and names every file. Cached and stored
    renders (``domain.delivery.render_store`` keeps them across restarts) must not outlive it."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not any(issubclass(mapper.class_, RENDERED_MODELS) for mapper in state.all_mappers):
        return
    session = state.session
    connection = session.connection()
    revision = session.info.get("revision")
    if revision is None:
        revision = session.info["revision"] = render_changes.bump(connection)
    recorded: set[str] = session.info.setdefault("render_subjects", set())
    if render_changes.EVERYTHING not in recorded:
        render_changes.record(connection, revision, {render_changes.EVERYTHING})
        recorded.add(render_changes.EVERYTHING)


def _track_devices(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Which devices' files a unit of work may change, for whoever wants to tell them
    (``session.info["touched_devices"]``, device ids; the caller reads it after commit)."""
    touched: set[int] = session.info.setdefault("touched_devices", set())
    accounts = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Tenant) and obj.id is not None:  # its registration expiry
            devices = select(Device.id).where(Device.tenant_id == obj.id)
            touched.update(session.connection().execute(devices).scalars())
        elif isinstance(obj, Device) and obj.id is not None:
            touched.add(obj.id)
        elif isinstance(obj, DeviceLine) and obj.device_id is not None:
            touched.add(obj.device_id)
        elif isinstance(obj, Account) and obj.id is not None:
            accounts.append(obj.id)
    if accounts:
        users = select(DeviceLine.device_id).where(DeviceLine.account_id.in_(accounts))
        touched.update(session.connection().execute(users).scalars())


def _reset_bump(session: Session, _transaction: object) -> None:
    session.info.pop("revision", None)
    session.info.pop("render_subjects", None)


class Database:
    """One database: sessions for the domain, ``upgrade()`` for the schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _bump_revision)
        event.listen(self._sessions, "before_flush", _track_devices)
        event.listen(self._sessions, "do_orm_execute", _bump_on_bulk_write)
        event.listen(self._sessions, "after_transaction_end", _reset_bump)
        audit.install(self._sessions)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back whole on any error (see
        :func:`rehearsal` and :func:`joined` for the two exceptions)."""
        ambient = _ambient.get()
        if ambient is not None:
            yield ambient
            ambient.flush()
            return
        with self._sessions() as session, session.begin() as transaction:
            yield session
            if _rehearsing.get():
                session.flush()  # the refusals a commit would meet, then nothing kept
                transaction.rollback()

    def revision(self) -> int:
        """The inventory revision (one indexed read; see ``InventoryRevision``)."""
        with self.engine.connect() as connection:
            return connection.execute(select(InventoryRevision.value)).scalar_one()

    def render_changes(self, seen: int | None) -> tuple[int, frozenset[str]]:
        """The revision now and whose files changed after ``seen`` (``render_changes``)."""
        with self.engine.connect() as connection:
            return render_changes.changed_since(connection, seen)

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(self.alembic_config(), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(self.alembic_config(), revision)

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def dispose(self) -> None:
        self.engine.dispose()
