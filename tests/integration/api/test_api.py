"""The admin REST API over real HTTP (``provisioner serve``, the ``provisioner token`` command)
and on PostgreSQL; its own logic is tested with Flask's test client in tests/unit/web/api."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select

from provisioner.app.service import open_service
from provisioner.db.models import ApiRole, Tenant
from provisioner.db.settings import SettingValue
from provisioner.domain.access.tokens import create_token
from provisioner.settings import Settings
from provisioner.web import create_app
from tests.support.api import API, Api
from tests.support.server import TEST_KEY, RunningServer
from tests.unit.web.api.test_api import new_account, new_tenant, sheet


def _http(server: RunningServer, method: str, path: str, token: str, body: Any = None) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        f"{server.http}{API}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_token_command_and_real_http(server: RunningServer) -> None:
    made = server.cli("token", "create", "bench-1", "--role", "warehouse")
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    assert _http(server, "GET", "/devices?limit=1", token) == 200
    assert _http(server, "GET", "/tokens", token) == 403
    assert (
        _http(server, "POST", "/devices", token, {"mac": "000b82ff0001", "model": "HT801"}) == 201
    )
    listed = server.cli("token", "list")
    assert b"bench-1" in listed.stdout
    assert token.encode() not in listed.stdout
    assert server.cli("token", "revoke", "bench-1").returncode == 0
    assert _http(server, "GET", "/devices?limit=1", token) == 401
    again = server.cli("token", "create", "bench-1", "--role", "admin")
    assert again.returncode != 0
    assert b"exists already" in again.stderr


@pytest.mark.postgres
def test_awkward_values_on_postgres(postgres_url: str) -> None:
    """PostgreSQL refuses NUL characters and numbers past 64 bits that SQLite takes: 4xx still."""
    service = open_service(Settings(db=postgres_url, secret_key=TEST_KEY))
    try:
        with service.db.session() as session:
            token = create_token(session, "pg-api", ApiRole.ADMIN)[1]
        api = Api(create_app(service).test_client(), service, {"admin": token})
        too_big = 2**31
        assert api.call("POST", "/tenants", json={"name": "a\u0000b"}).status_code == 422
        assert api.call("GET", "/tenants?name=%00").status_code == 422
        assert api.call("GET", f"/tenants/{too_big}").status_code == 404
        assert api.call("PATCH", f"/accounts/{too_big}", json={}).status_code == 404
        assert api.call("GET", f"/devices?tenant_id={too_big - 1}").status_code == 200
        assert api.call("DELETE", "/tokens/%00").status_code == 404
        device = {"mac": "000b82fe0001", "model": "GXP1610"}
        bad_revision = device | {"hardware_revision": "v\u00001"}
        assert api.call("POST", "/devices", json=bad_revision).status_code == 422
        nul_tenant = sheet({"tenant": "pg\u0000co", "mac": "000b82fe0002"})
        refused = api.call("POST", "/imports", data=nul_tenant, content_type="text/csv")
        assert refused.status_code == 422
        tenant = new_tenant(api, "pg-api-co")
        account = new_account(api, tenant["id"], "1001")
        api.ok("POST", "/devices", 201, json=device)
        api.ok("POST", "/devices/000b82fe0001/actions/bind", json={"tenant_id": tenant["id"]})
        lines = api.ok("PUT", "/devices/000b82fe0001/lines/1", json={"account_id": account["id"]})
        assert lines["lines"][0]["extension"] == "1001"
    finally:
        service.close()


@pytest.mark.postgres
def test_a_customer_reaches_its_phones_own_settings_on_postgres(postgres_url: str) -> None:
    """The tenant scope's rule for rows set per tenant, model or device (a subquery of the
    tenant's devices) on PostgreSQL: a customer sees its phone's own value, changes that row in
    place, and another tenant's phone stays missing."""
    service = open_service(Settings(db=postgres_url, secret_key=TEST_KEY))
    try:
        with service.db.session() as session:
            token = create_token(session, "pg-scope-admin", ApiRole.ADMIN)[1]
        api = Api(create_app(service).test_client(), service, {"admin": token})
        macs = {"ours": "000b82fe0101", "theirs": "000b82fe0102"}
        tenant_ids = {}
        for name, mac in macs.items():
            tenant = new_tenant(api, f"pg-scope-{name}")
            tenant_ids[name] = tenant["id"]
            account = new_account(api, tenant["id"], "1001")
            api.ok("POST", "/devices", 201, json={"mac": mac, "model": "GXP2170"})
            api.ok("POST", f"/devices/{mac}/actions/bind", json={"tenant_id": tenant["id"]})
            api.ok("PUT", f"/devices/{mac}/lines/1", json={"account_id": account["id"]})
            api.ok("PUT", f"/devices/{mac}/settings/time_format", json={"value": "12h"})
        with service.db.session() as session:
            ours = session.get(Tenant, tenant_ids["ours"])
            api.tokens["customer"] = create_token(
                session, "pg-scope-customer", ApiRole.CUSTOMER, ours
            )[1]
        shown = api.ok("GET", f"/devices/{macs['ours']}/settings", role="customer")
        mine = next(s for s in shown["settings"] if s["name"] == "time_format")
        assert (mine["value"], mine["source"]) == ("12h", "device")
        api.ok("PUT", f"/devices/{macs['ours']}/settings/time_format", role="customer",
               json={"value": "24h"})  # fmt: skip
        api.refused("GET", f"/devices/{macs['theirs']}/settings", 404, role="customer")
        with service.db.session() as session:
            rows = session.scalars(
                select(SettingValue.value).where(SettingValue.name == "time_format")
            ).all()
        assert sorted(rows) == ["12h", "24h"]  # changed in place, not doubled
    finally:
        service.close()
