"""The migrations, an import and a fetch on PostgreSQL (Debian's server, started here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect

from provisioner.db.session import Database
from provisioner.domain.inventory.sheet import sheet_rows
from tests.support.server import start_server, stop_server

pytestmark = pytest.mark.postgres


def test_migrations_go_down_and_up(postgres_url: str) -> None:
    db = Database(postgres_url)
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {"tenants", "accounts", "devices", "device_lines", "device_events"} <= tables
    db.downgrade("base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert "device_events" in inspect(db.engine).get_table_names()
    db.dispose()


def test_import_and_fetch_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    server = start_server(tmp_path, postgres_url)
    try:
        sheet = tmp_path / "order.csv"
        sheet.write_bytes(
            sheet_rows(
                [
                    {"tenant": "pg-co", "extension": "2001", "direct_number": "0355550001",
                     "display_name": "ポスグレ", "mac": "00:0b:82:12:34:56", "model": "GRP2614",
                     "port": "1"},
                ]
            )
        )  # fmt: skip
        imported = server.cli("import", str(sheet))
        assert imported.returncode == 0, imported.stderr
        fetched = subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", f"{server.http}/cfg000b82123456.xml"],
            capture_output=True, timeout=30, check=True,
        )  # fmt: skip
        body, _, status = fetched.stdout.rpartition(b"\n")
        assert status == b"200"
        assert "ポスグレ".encode() in body
        rendered = server.cli("render", "000b82123456")
        assert rendered.stdout == body
    finally:
        stop_server(server)
