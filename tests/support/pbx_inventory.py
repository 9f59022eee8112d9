"""The inventory the PBX-core tests export: two tenants, one extension number in both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.app.service import Service
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from tests.support.pbx_support import Core, export, start_core

ROWS = [
    {"tenant": "acme", "extension": "2001", "direct_number": "0312345001",
     "display_name": "Taro", "mac": "000b82bb0001", "model": "GXP2170", "port": "1",
     "representative_number": "0312340000"},
    {"tenant": "acme", "extension": "2002", "direct_number": "", "display_name": "Hanako",
     "mac": "000b82bb0002", "model": "HT802", "port": "1", "representative_number": ""},
    {"tenant": "other", "extension": "2001", "direct_number": "", "display_name": "Jiro",
     "mac": "000b82bb0003", "model": "GXP2170", "port": "1", "representative_number": ""},
]  # fmt: skip


def imported(service: Service, rows: list[dict[str, str]]) -> Service:
    """``service`` with ``rows`` imported (a sheet that must be good)."""
    with service.db.session() as session:
        report = import_sheet(session, service.box, sheet_rows(rows), actor="test")
        assert report.ok, report.errors
    return service


@pytest.fixture
def pbx_inventory(service: Service) -> Service:
    return imported(service, ROWS)


@pytest.fixture
def pbx_core(pbx_inventory: Service, tmp_path: Path) -> Iterator[Core]:
    """Kamailio on the export of :func:`pbx_inventory`."""
    db_path = tmp_path / "pbx.sqlite"
    export(pbx_inventory, db_path)
    running = start_core(tmp_path, db_path)
    try:
        yield running
    finally:
        running.stop()
