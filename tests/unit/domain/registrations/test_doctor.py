"""`device doctor`'s rules on facts the real peers cannot order exactly: a refusal counts as the
cause only while nothing was served since. Each cause itself is built with real peers in
tests/integration/registrations/test_doctor.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device, DeviceEvent
from provisioner.domain.delivery.authorization import NETWORK_NOT_ALLOWED, WRONG_CREDENTIALS
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows
from provisioner.domain.registrations.doctor import diagnose
from provisioner.domain.timeline import EventKind
from provisioner.settings import Settings
from tests.support.server import TEST_KEY

MAC = "000b82aa2170"
ROWS = [{"tenant": "acme", "extension": "2001", "direct_number": "", "display_name": "Taro",
         "mac": MAC, "model": "GXP2170", "port": "1"}]  # fmt: skip
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'inventory.db'}", secret_key=TEST_KEY)


def _cause(service: Service, events: list[tuple[str, int, str | None, int]]) -> str:
    """The cause after these (kind, status, detail, minutes after NOW) events."""
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(ROWS), actor="test").ok
        device = session.scalars(select(Device).where(Device.mac == MAC)).one()
        for kind, status, detail, minutes in events:
            session.add(DeviceEvent(device=device, kind=kind, status=status, detail=detail,
                                    source="203.0.113.7",
                                    at=NOW + dt.timedelta(minutes=minutes)))  # fmt: skip
        session.flush()
        return diagnose(session, device, ()).cause


@pytest.mark.parametrize(
    ("reason", "cause"),
    [(WRONG_CREDENTIALS, "wrong_digest_password"), (NETWORK_NOT_ALLOWED, "network_not_allowed")],
)
def test_a_refusal_is_the_cause_until_something_is_served(
    service: Service, reason: str, cause: str
) -> None:
    refused = (EventKind.REFUSED, 401, reason, 5)
    assert _cause(service, [(EventKind.FETCH, 200, None, 0), refused]) == cause


@pytest.mark.parametrize("reason", [WRONG_CREDENTIALS, NETWORK_NOT_ALLOWED])
def test_a_refusal_followed_by_a_served_fetch_is_history(service: Service, reason: str) -> None:
    events = [(EventKind.REFUSED, 401, reason, 0), (EventKind.FETCH, 200, None, 5)]
    assert _cause(service, events) == "ok"  # no core configured: lines are unknown, not lost


def test_a_replayed_nonce_is_listed_but_is_no_phone_s_fault(service: Service) -> None:
    events = [(EventKind.FETCH, 200, None, 0), (EventKind.REFUSED, 401, "credentials replay", 5)]
    assert _cause(service, events) == "ok"
