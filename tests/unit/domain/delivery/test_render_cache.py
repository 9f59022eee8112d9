"""Rendered files are cached per process and dropped when a row they are made of changes:
only the files of the devices a change touched."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.firmware import FirmwareRollout
from provisioner.db.models import Account, DeviceEvent, Tenant
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.delivery.render_cache import (
    FileCache,
    RenderCache,
    RenderedFile,
    any_change,
)
from provisioner.domain.inventory import lifecycle
from provisioner.domain.inventory.lookup import load_device
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from tests.support.caches import follow_every_change

ROW = {
    "tenant": "acme", "extension": "1001", "direct_number": "", "display_name": "Before",
    "mac": "000b82aa0001", "model": "GXP1610", "port": "1",
}  # fmt: skip
# A rollout for a model none of the test's devices is: no device owns the row.
ROLLOUT = {
    "name": "other-model", "vendor": "grandstream", "model": "GXP2170", "steps": [],
    "loop_limit": 3, "failure_percent": 10,
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
    follow_every_change(service.provisioner)
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
    cache = RenderCache(any_change(lambda: revision[0]), check_interval=3600)
    assert cache.get("k") is None  # first check reads revision 1
    cache.put("k", RenderedFile(b"one", "text/plain", "h"), cache.revision)
    revision[0] = 2
    assert cache.get("k") == RenderedFile(b"one", "text/plain", "h")  # within the interval
    fresh = RenderCache(any_change(lambda: revision[0]), check_interval=0)
    fresh.get("k")
    fresh.put("k", RenderedFile(b"one", "text/plain", "h"), 1)  # rendered at an old revision
    assert fresh.get("k") is None


def test_cache_is_bounded() -> None:
    cache = RenderCache(any_change(lambda: 1), check_interval=3600, max_entries=2)
    cache.get("a")
    for key in "abc":
        cache.put(key, RenderedFile(key.encode(), "text/plain", key), 1)
    assert cache.get("a") is None
    assert cache.get("c") is not None


# --- the compressed second tier --------------------------------------------------------------


def _file(key: str) -> RenderedFile:
    return RenderedFile(f"<config of {key}/>".encode() * 40, "text/xml", f"sha-{key}")


def test_a_file_past_the_plain_bound_comes_back_whole_from_the_compressed_tier() -> None:
    plain_room = len(_file("a").body) + 200  # one file as sent
    cache = FileCache(lambda seen: (1, frozenset()), plain_room, 10_000, check_interval=3600)
    cache.get("a")
    for key in "abc":
        cache.put(key, _file(key), 1, subject=key)
    assert len(cache) == 1  # only "c" is held as sent
    assert cache.packed_weight < 3 * plain_room / 2  # all three, compressed: far smaller
    for key in "abcab":
        assert cache.get(key) == _file(key)
    assert len(cache) == 1  # the first tier is full: "c" stays, the others stay compressed


def test_a_file_from_the_compressed_tier_goes_back_to_the_first_when_it_has_room() -> None:
    changed: list[frozenset[str]] = [frozenset()]
    room = 2 * (len(_file("a").body) + 200)
    cache = FileCache(lambda seen: (1, changed[0]), room, 10_000, check_interval=0)
    cache.get("a")
    for key in "abc":
        cache.put(key, _file(key), 1, subject=key)
    assert len(cache) == 2  # "b" and "c"
    changed[0] = frozenset({"c"})
    assert cache.get("c") is None
    changed[0] = frozenset()
    assert len(cache) == 1
    assert cache.get("a") == _file("a")
    assert len(cache) == 2  # "a" came back to the first tier


def test_a_change_drops_a_device_from_both_tiers() -> None:
    """Both files are held as sent and compressed: a get finds a file in either tier, so
    "a" is gone only if the change took it out of both."""
    changed: list[frozenset[str]] = [frozenset()]
    room = 2 * (len(_file("a").body) + 200)
    cache = FileCache(lambda seen: (1, changed[0]), room, 10_000, check_interval=0)
    cache.get("a")
    cache.put("a", _file("a"), 1, subject="mac-a")
    cache.put("b", _file("b"), 1, subject="mac-b")
    assert len(cache) == 2
    changed[0] = frozenset({"mac-a"})
    assert cache.get("a") is None
    assert len(cache) == 1
    assert cache.get("b") == _file("b")


def test_the_compressed_tier_is_bounded_by_bytes() -> None:
    cache = FileCache(lambda seen: (1, frozenset()), 1, 400, check_interval=3600)
    cache.get("a")
    for key in "abcdef":
        cache.put(key, _file(key), 1, subject=key)
    assert cache.packed_weight <= 400
    assert cache.get("a") is None  # the oldest went
    assert cache.get("f") == _file("f")


def test_a_worker_cycling_through_more_devices_than_its_plain_bound_reads_no_store(
    renders: list[str], service: Service
) -> None:
    """A storm of more devices than the first tier holds: after the first round every file
    comes from memory, none from the render store (the store was the cost of 10,000 devices)."""
    provisioner = service.provisioner
    provisioner.cache = FileCache(service.db.render_changes, 1, 2**20, check_interval=0)
    first = fetch_all(service)  # the second worker's start: from the store
    reads: list[object] = []
    store_get = provisioner.store.get
    provisioner.store.get = lambda key: reads.append(key) or store_get(key)  # type: ignore[method-assign]
    for _ in range(3):
        assert fetch_all(service) == first
    assert reads == []
    assert renders == []


# --- per-device invalidation -----------------------------------------------------------------

MACS = ("000b82aa0011", "000b82aa0012", "000b82aa0013")  # acme, acme, other


def _rows() -> list[dict[str, str]]:
    tenants = ("acme", "acme", "other")
    return [
        {**ROW, "tenant": tenant, "extension": f"200{i}", "mac": mac, "display_name": f"Line {i}"}
        for i, (tenant, mac) in enumerate(zip(tenants, MACS, strict=True))
    ]


@pytest.fixture
def renders(service: Service, render_log: list[str]) -> list[str]:
    """The inventory of three devices, each fetched once; then the MAC of every render."""
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(_rows())).ok
    follow_every_change(service.provisioner)
    seen = render_log
    fetch_all(service)
    assert seen == list(MACS)
    seen.clear()
    return seen


def fetch_all(service: Service) -> dict[str, bytes]:
    bodies = {}
    for mac in MACS:
        delivery = service.provisioner.deliver(Fetch(f"cfg{mac}.xml", "http", "127.0.0.1"))
        assert delivery.outcome is Outcome.SERVED
        bodies[mac] = delivery.body
    return bodies


def test_one_accounts_change_renders_its_tenants_devices_again(
    service: Service, renders: list[str]
) -> None:
    """A phone's default keys may watch and label any extension of its tenant."""
    with service.db.session() as session:
        account = session.scalars(select(Account).where(Account.extension == "2000")).one()
        account.display_name = "Renamed"
    bodies = fetch_all(service)
    assert renders == list(MACS[:2])
    assert b"Renamed" in bodies[MACS[0]]
    assert b"Renamed" not in bodies[MACS[2]]  # another tenant: still cached


def test_a_lifecycle_step_of_one_device_leaves_the_others_cached(
    service: Service, renders: list[str]
) -> None:
    with service.db.session() as session:
        device = load_device(session, MACS[2])
        assert device is not None
        lifecycle.apply(session, service.box, device, lifecycle.Action.STAGE, actor="test")
    fetch_all(service)
    assert renders == [MACS[2]]


def test_a_tenants_change_renders_its_devices_only(service: Service, renders: list[str]) -> None:
    with service.db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == "acme")).one()
        tenant.allowed_networks = "192.0.2.0/24"
    fetch_all(service)
    assert renders == list(MACS[:2])


def test_an_import_of_new_devices_keeps_other_tenants_files(
    service: Service, renders: list[str]
) -> None:
    """A new extension is a new default BLF key on its tenant's phones; nothing else moves."""
    new = [{**ROW, "extension": "3000", "mac": "000b82aa0099", "tenant": "acme"}]
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(new)).ok
    fetch_all(service)
    assert renders == list(MACS[:2])


def test_a_change_no_device_owns_renders_everything_again(
    service: Service, renders: list[str]
) -> None:
    with service.db.session() as session:
        session.add(FirmwareRollout(**ROLLOUT))
    fetch_all(service)
    assert renders == list(MACS)
