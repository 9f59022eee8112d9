"""schemathesis against the API document with a customer token of tenant A, on the demo
inventory (tenant B) and A's one phone: no operation answers 5xx, and no response carries
anything of tenant B (its name, its phones' MACs, its accounts' SIP user names).

Bounded (examples per operation) like the admin run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import select

from provisioner.app.service import open_service
from provisioner.db.models import Account, ApiRole, Device, TenantStatus
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import DEMO_TENANT, seed_demo
from provisioner.domain.inventory import accounts, devices, tenants
from provisioner.domain.inventory.lifecycle import Action
from provisioner.settings import Settings
from provisioner.web import create_app
from provisioner.web.api.context import API_PREFIX
from tests.support.server import TEST_KEY

_WORKDIR = Path(tempfile.mkdtemp(prefix="provisioner-api-fuzz-customer-"))
_SERVICE = open_service(Settings(db=f"sqlite:///{_WORKDIR / 'inventory.db'}", secret_key=TEST_KEY))
with _SERVICE.db.session() as _session:
    seed_demo(_session, _SERVICE.box)
    _OURS = tenants.create_tenant(
        _session, name="顧客A", status=TenantStatus.ACTIVE, allowed_networks=[]
    )
    _ACCOUNT = accounts.create_account(
        _session, _SERVICE.box, _OURS, extension="2001", direct_number="", display_name="山田"
    )
    _PHONE = devices.create_device(_session, _SERVICE.box, mac="000b82cc0001", model="GXP2170")
    devices.act(_session, _SERVICE.box, _PHONE, Action.BIND, "fuzz", _OURS)
    devices.set_line(_session, _PHONE, 1, _ACCOUNT, "")
    _TOKEN = create_token(_session, "fuzz-customer", ApiRole.CUSTOMER, _OURS)[1]
    # What must never show: tenant B's name, its phones' MACs, its SIP user names.
    THEIRS = {DEMO_TENANT} | {
        *_session.scalars(select(Device.mac).where(Device.tenant_id != _OURS.id)),
        *_session.scalars(select(Account.sip_username).where(Account.tenant_id != _OURS.id)),
    }
schema = schemathesis.openapi.from_wsgi(f"{API_PREFIX}/openapi.json", create_app(_SERVICE))
schema.config.update(headers={"Authorization": f"Bearer {_TOKEN}"})


@pytest.fixture(scope="module", autouse=True)
def cleanup() -> Iterator[None]:
    try:
        yield
    finally:
        _SERVICE.close()
        shutil.rmtree(_WORKDIR, ignore_errors=True)


@schema.parametrize()
# derandomize: the same examples every run, so CI says the same thing twice. To fuzz afresh
# while working, drop it (a random run found the scheduled-change id overflow).
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_a_customer_token_meets_no_5xx_and_nothing_of_another_tenant(
    case: schemathesis.Case,
) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.operation.label}: {response.text[:500]}"
    body = response.text.lower()
    shown = [value for value in THEIRS if value.lower() in body]
    assert not shown, f"{case.operation.label} -> {response.status_code} shows {shown[:3]}"
