"""Fixtures every lane uses: a fresh database and service per test, the web app over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from provisioner.app.service import Service, open_service
from provisioner.settings import Settings
from provisioner.web import create_app
from tests.support.api import Api, make_api
from tests.support.gateway_engine import Issuer
from tests.support.server import TEST_KEY

pytest_plugins = ("tests.support.pbx_inventory",)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'inventory.db'}", secret_key=TEST_KEY)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    svc = open_service(settings)
    yield svc
    svc.close()


@pytest.fixture
def app(service: Service) -> Flask:
    """The whole web app (API, staging pages, device files, metrics) over this test's service."""
    return create_app(service)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(service: Service) -> Api:
    """The admin API with a token for each role."""
    return make_api(service)


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    """Gateway tests: the provisioner's licence-signing key, public half in tmp_path/issuer.pem."""
    return Issuer.create(tmp_path)
