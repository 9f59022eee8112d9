"""The admin API through Flask's test client, with one bearer token per role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from provisioner.app.service import Service
from provisioner.db.models import STAFF_ROLES, ApiRole, Tenant
from provisioner.domain.access.tokens import create_token
from provisioner.web import create_app

API = "/api/v1"


@dataclass
class Api:
    """The app under test with one token per role."""

    client: FlaskClient
    service: Service
    tokens: dict[str, str]

    def call(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kwargs.pop("headers", {})}
        return self.client.open(API + path, method=method, headers=headers, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json(silent=True)

    def refused(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        """The error message of a refusal, after checking its status and JSON shape."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.get_json()
        assert isinstance(body["error"], str), body
        assert body["error"], body
        return body["error"]


def make_api(service: Service) -> Api:
    with service.db.session() as session:
        tokens = {role.value: create_token(session, role.value, role)[1] for role in STAFF_ROLES}
    return Api(create_app(service).test_client(), service, tokens)


def add_customer_token(api: Api, tenant_id: int, name: str = "customer") -> str:
    """A customer token of one tenant, kept under ``name`` in ``api.tokens``."""
    with api.service.db.session() as session:
        tenant = session.get(Tenant, tenant_id)
        api.tokens[name] = create_token(session, name, ApiRole.CUSTOMER, tenant)[1]
    return name
