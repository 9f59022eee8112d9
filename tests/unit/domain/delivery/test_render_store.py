"""A render is kept once for every worker, instance and restart, sealed, and never outlives
a change to a row it is made of."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import delete, event, select, update

from provisioner.app.service import Service, open_service
from provisioner.db.models import Account, Device, DeviceLine, StoredRender
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.render_cache import RenderCache, RenderedFile, pack
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.settings import Settings
from tests.support.caches import follow_every_change

MAC = "000b82aa0031"
ROW = {
    "tenant": "acme", "extension": "1001", "direct_number": "", "display_name": "Before",
    "mac": MAC, "model": "GXP1610", "port": "1",
}  # fmt: skip


@pytest.fixture
def other_worker(settings: Settings) -> Iterator[Service]:
    """A second process's service on the same database: its caches start empty."""
    svc = open_service(settings)
    yield svc
    svc.close()


def fetch(service: Service) -> bytes:
    follow_every_change(service.provisioner)
    delivery = service.provisioner.deliver(Fetch(f"cfg{MAC}.xml", "http", "127.0.0.1"))
    assert delivery.outcome is Outcome.SERVED, delivery.reason
    return delivery.body


@pytest.fixture
def imported(service: Service) -> Service:
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows([ROW])).ok
    return service


def test_a_file_rendered_by_one_worker_is_served_by_another_without_a_render(
    imported: Service, other_worker: Service, render_log: list[str]
) -> None:
    first = fetch(imported)
    assert render_log == [MAC]
    assert fetch(other_worker) == first
    assert render_log == [MAC]  # read, decrypted, not rendered


def test_a_change_after_the_render_is_never_served_from_the_store(
    imported: Service, other_worker: Service, render_log: list[str]
) -> None:
    assert b"Before" in fetch(imported)
    with imported.db.session() as session:
        session.scalars(select(Account)).one().display_name = "After"
    body = fetch(other_worker)
    assert b"After" in body
    assert b"Before" not in body
    assert render_log == [MAC, MAC]


def test_a_bulk_statement_past_the_flush_hooks_is_a_change_too(
    imported: Service, other_worker: Service, render_log: list[str]
) -> None:
    """Rows written by a statement (no objects flushed) cannot name whose files they change:
    every stored render goes."""
    before = fetch(imported)
    with imported.db.session() as session:
        session.execute(update(Account).values(display_name="Bulk"))
    assert b"Bulk" in fetch(other_worker)
    with imported.db.session() as session:
        session.execute(delete(DeviceLine))
    assert fetch(other_worker) != before
    assert render_log == [MAC, MAC, MAC]


def test_the_stored_file_is_sealed_and_bound_to_its_variant(
    imported: Service, other_worker: Service, render_log: list[str]
) -> None:
    body = fetch(imported)
    password = body.split(b"<P34>")[1].split(b"</P34>")[0]  # the line's SIP password
    assert len(password) >= 8
    with imported.db.engine.connect() as connection:
        (row,) = connection.execute(select(StoredRender)).all()
    assert password not in row.sealed
    assert b"Before" not in row.sealed
    store = imported.provisioner.store
    revision = imported.db.revision()
    other = RenderedFile(b"x", "text/plain", "h")
    store.put(("another", "variant"), MAC, revision, other, pack(other.body))
    with imported.db.engine.begin() as connection:  # this device's sealed body, moved there
        connection.execute(
            update(StoredRender).where(StoredRender.key != row.key).values(sealed=row.sealed)
        )
    assert store.get(("another", "variant")) is None
    with imported.db.engine.begin() as connection:  # and a body altered in place
        connection.execute(
            update(StoredRender)
            .where(StoredRender.key == row.key)
            .values(sealed=row.sealed[:-1] + bytes([row.sealed[-1] ^ 1]))
        )
    assert fetch(other_worker) == body  # it does not open: rendered again
    assert render_log == [MAC, MAC]


def test_after_a_key_rotation_old_renders_are_rendered_again(
    imported: Service, settings: Settings, render_log: list[str]
) -> None:
    body = fetch(imported)
    rotated = dataclasses.replace(
        settings, secret_key=f"{Fernet.generate_key().decode()},{settings.secret_key}"
    )
    fresh = open_service(rotated)
    try:
        assert fetch(fresh) == body
    finally:
        fresh.close()
    assert render_log == [MAC, MAC]


def test_a_restart_with_other_settings_renders_again(
    imported: Service, settings: Settings, render_log: list[str]
) -> None:
    """The files name the server's URL: a restore onto a server with another port, say."""
    body = fetch(imported)
    moved = dataclasses.replace(settings, http_base="http://192.0.2.1:8081")
    fresh = open_service(moved)
    try:
        again = fetch(fresh)
    finally:
        fresh.close()
    assert render_log == [MAC, MAC]
    assert again != body
    assert b"192.0.2.1:8081" in again


def test_the_memory_cache_is_bounded_by_bytes() -> None:
    cache: RenderCache[RenderedFile] = RenderCache(
        lambda seen: (1, frozenset()), weigh=lambda file: len(file.body), max_weight=10
    )
    cache.get("a")
    for key in "abc":
        cache.put(key, RenderedFile(key.encode() * 4, "text/plain", key), 1, subject=key)
    assert cache.get("a") is None
    assert cache.get("b") is not None
    assert cache.get("c") is not None
    assert cache.weight == 8


def test_a_primed_worker_serves_recent_devices_without_reading_their_rows(
    imported: Service, other_worker: Service, render_log: list[str]
) -> None:
    """A worker started after the devices fetched (a restart before a power cut's storm)."""
    body = fetch(imported)
    worker = other_worker.provisioner
    follow_every_change(worker)
    statements: list[str] = []
    event.listen(
        other_worker.db.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, sql, *_rest: statements.append(sql),
    )
    assert worker.prime(10) == 1
    assert any("served_files" in sql for sql in statements)
    statements.clear()
    delivery = worker.deliver(Fetch(f"cfg{MAC}.xml", "http", "127.0.0.1"))
    assert delivery.body == body
    assert not [sql for sql in statements if "FROM devices" in sql or "served_files" in sql]
    assert render_log == [MAC]
    with imported.db.session() as session:  # a change still reaches the primed worker
        session.scalars(select(Account)).one().display_name = "After"
    assert b"After" in worker.deliver(Fetch(f"cfg{MAC}.xml", "http", "127.0.0.1")).body
    assert render_log == [MAC, MAC]


def test_a_device_of_a_model_this_release_does_not_know_does_not_stop_priming(
    imported: Service, other_worker: Service
) -> None:
    fetch(imported)
    with imported.db.engine.begin() as connection:  # a model a later release dropped
        connection.execute(update(Device).values(model="GXP9999"))
    assert other_worker.provisioner.prime(10) == 0  # left out, and the worker starts
