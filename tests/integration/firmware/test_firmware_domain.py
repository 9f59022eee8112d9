"""Loop detection in the inventory on PostgreSQL (the SQLite run is a unit test)."""

from __future__ import annotations

import pytest

from provisioner.app.service import open_service
from provisioner.settings import Settings
from tests.support.server import TEST_KEY
from tests.unit.domain.firmware.test_firmware_domain import three_downloads_hold


@pytest.mark.postgres
def test_loop_detection_holds_on_postgres(postgres_url: str) -> None:
    service = open_service(Settings(db=postgres_url, secret_key=TEST_KEY))
    try:
        three_downloads_hold(service, "0080f0bb0002")
    finally:
        service.close()
