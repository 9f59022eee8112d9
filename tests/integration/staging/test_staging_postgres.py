"""The bench on PostgreSQL: the stager's locking query, staging and the bench rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from provisioner.app.service import Service, open_service
from provisioner.db.models import Device, DeviceState
from provisioner.db.session import make_engine
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.demo import demo_mac, seed_demo
from provisioner.domain.staging import auto_stage
from provisioner.settings import Settings
from provisioner.vendors import all_models, vendor
from tests.support.server import TEST_KEY

pytestmark = pytest.mark.postgres


def own_database(postgres_url: str, name: str) -> Iterator[Service]:
    """A service on a database of its own in the session's cluster (other tests fill the
    default one), dropped afterwards."""
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    service = open_service(
        Settings(db=postgres_url.rsplit("/", 1)[0] + f"/{name}", secret_key=TEST_KEY)
    )
    try:
        yield service
    finally:
        service.close()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


@pytest.fixture
def pg_service(postgres_url: str) -> Iterator[Service]:
    yield from own_database(postgres_url, "staging_bench")


def test_a_bench_fetch_stages_the_device_on_postgres(pg_service: Service) -> None:
    with pg_service.db.session() as session:
        seed_demo(session, pg_service.box)  # every device bound
    model = next(m for m in all_models() if m.model == "GXP2170")
    mac = demo_mac(all_models().index(model) + 1, model)
    name = vendor(model.vendor).device_filename(mac, model)
    delivery = pg_service.provisioner.deliver(Fetch(name, "http", "127.0.0.1"))
    assert delivery.outcome is Outcome.SERVED
    pg_service.timeline.flush()
    with pg_service.db.session() as session:
        assert session.scalar(select(Device.state).where(Device.mac == mac)) is DeviceState.STAGED
        rows = auto_stage.refresh_bench(session, pg_service.box, pg_service.provisioner.staging)
    assert len(rows) == len(all_models())
    staged = [row.mac for row in rows if row.state is DeviceState.STAGED]
    assert staged == [mac]
