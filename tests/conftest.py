"""Fixtures every lane uses: a fresh database and service per test, the web app over it."""

from __future__ import annotations

import shutil
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


@pytest.fixture(scope="session")
def migrated_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty inventory at the newest schema, made once per session (per xdist worker):
    running every migration for each test was most of the unit lane's time."""
    path = tmp_path_factory.mktemp("migrated") / "inventory.db"
    open_service(Settings(db=f"sqlite:///{path}", secret_key=TEST_KEY)).close()
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_inventory: Path) -> Settings:
    path = tmp_path / "inventory.db"
    shutil.copyfile(migrated_inventory, path)
    return Settings(db=f"sqlite:///{path}", secret_key=TEST_KEY)


@pytest.fixture
def service(settings: Settings, migrated_inventory: Path) -> Iterator[Service]:
    """A service on this test's inventory; a copy of the migrated one needs no migration (a
    test with settings of its own names a new file, which is migrated as usual)."""
    copied = Path(settings.db.removeprefix("sqlite:///"))
    premigrated = copied.exists() and copied.stat().st_size == migrated_inventory.stat().st_size
    svc = open_service(settings, upgrade=not premigrated)
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
