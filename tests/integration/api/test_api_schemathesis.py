"""schemathesis against the API document, with an admin token on a demo inventory.

No operation may answer 5xx, and every response must match what the document says of it.
Bounded (examples per operation) so the file stays well under a minute and a half.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from provisioner.app.service import open_service
from provisioner.db.models import ApiRole
from provisioner.domain.access.tokens import create_token
from provisioner.domain.demo import seed_demo
from provisioner.settings import Settings
from provisioner.web import create_app
from provisioner.web.api.context import API_PREFIX
from tests.support.server import TEST_KEY

# Built when the module is collected: schemathesis's lazy (fixture) loader fails on pytest 9.2,
# and its eager loader needs the application. The token goes in the configuration, so that
# schemathesis knows which header authenticates and tests its absence too.
_WORKDIR = Path(tempfile.mkdtemp(prefix="provisioner-api-fuzz-"))
_SERVICE = open_service(Settings(db=f"sqlite:///{_WORKDIR / 'inventory.db'}", secret_key=TEST_KEY))
with _SERVICE.db.session() as _session:
    _TOKEN = create_token(_session, "fuzz", ApiRole.ADMIN)[1]
schema = schemathesis.openapi.from_wsgi(f"{API_PREFIX}/openapi.json", create_app(_SERVICE))
schema.config.update(headers={"Authorization": f"Bearer {_TOKEN}"})


@pytest.fixture(scope="module", autouse=True)
def demo_inventory() -> Iterator[None]:
    """The demo tenant and devices to work on; everything removed afterwards."""
    try:
        with _SERVICE.db.session() as session:
            seed_demo(session, _SERVICE.box)
        yield
    finally:
        _SERVICE.close()
        shutil.rmtree(_WORKDIR, ignore_errors=True)


# What the document cannot say of a value that fits it: is a string a network without host bits,
# is a CSV body a good sheet, does a v3 switch come with its user and keys. These answer 422 to
# some schema-valid requests, by design.
SEMANTIC_CHECKS = {
    f"POST {API_PREFIX}/tenants",
    f"PATCH {API_PREFIX}/tenants/{{tenant_id}}",
    f"POST {API_PREFIX}/imports",
    f"POST {API_PREFIX}/orders",  # a CSV body is an order sheet only when its rows are
    f"POST {API_PREFIX}/poe/switches",
    # Issue 15: whether a value fits the setting and the device's model, whether a raw name is
    # in the family's template, whether a key fits the model, whether a CSV is a phonebook.
    *(f"PUT {API_PREFIX}/{path}" for path in (
        "devices/{mac}/settings/{setting}", "tenants/{tenant_id}/settings/{setting}",
        "models/{model}/settings/{setting}", "devices/{mac}/raw/{param}",
        "tenants/{tenant_id}/raw/{model}/{param}", "devices/{mac}/keys",
        "devices/{mac}/keys/{position}", "tenants/{tenant_id}/feature-codes",
        "tenants/{tenant_id}/phonebook")),
    f"POST {API_PREFIX}/tokens",  # a tenant for a customer token only, and one that exists
}  # fmt: skip


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: schemathesis.Case) -> None:
    # A time the document allows may be past: apply_at is checked against the clock.
    semantic = case.operation.label in SEMANTIC_CHECKS or "apply_at" in (case.query or {})
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if semantic else [])
