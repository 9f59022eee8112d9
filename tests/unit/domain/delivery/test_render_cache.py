"""Rendered files are cached per process and dropped when the inventory revision moves."""

from __future__ import annotations

from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Account, DeviceEvent
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.render_cache import RenderCache, RenderedFile
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows

ROW = {
    "tenant": "acme", "extension": "1001", "direct_number": "", "display_name": "Before",
    "mac": "000b82aa0001", "model": "GXP1610", "port": "1",
}  # fmt: skip


def fetch(service: Service) -> bytes:
    delivery = service.provisioner.deliver(Fetch("cfg000b82aa0001.xml", "http", "127.0.0.1"))
    assert delivery.outcome is Outcome.SERVED
    return delivery.body


def test_a_change_to_a_rendered_row_bumps_the_revision_and_the_file_follows(
    service: Service,
) -> None:
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows([ROW])).ok
    service.provisioner.cache = RenderCache(service.db.revision, check_interval=0)
    service.provisioner.devices = RenderCache(service.db.revision, check_interval=0)
    before = service.db.revision()
    assert b"Before" in fetch(service)
    with service.db.session() as session:
        session.add(DeviceEvent(device_id=1, kind="note"))  # not rendered: no bump
    assert service.db.revision() == before
    with service.db.session() as session:
        session.scalars(select(Account)).one().display_name = "After"
    assert service.db.revision() == before + 1
    assert b"After" in fetch(service)


def test_stale_revision_is_served_until_the_next_check() -> None:
    revision = [1]
    cache = RenderCache(lambda: revision[0], check_interval=3600)
    assert cache.get("k") is None  # first check reads revision 1
    cache.put("k", RenderedFile(b"one", "text/plain", "h"), cache.revision)
    revision[0] = 2
    assert cache.get("k") == RenderedFile(b"one", "text/plain", "h")  # within the interval
    fresh = RenderCache(lambda: revision[0], check_interval=0)
    fresh.get("k")
    fresh.put("k", RenderedFile(b"one", "text/plain", "h"), 1)  # rendered at an old revision
    assert fresh.get("k") is None


def test_cache_is_bounded() -> None:
    cache = RenderCache(lambda: 1, check_interval=3600, max_entries=2)
    cache.get("a")
    for key in "abc":
        cache.put(key, RenderedFile(key.encode(), "text/plain", key), 1)
    assert cache.get("a") is None
    assert cache.get("c") is not None
