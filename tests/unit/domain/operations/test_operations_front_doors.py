"""The operations' front doors: /readyz, GET /api/v1/convergence, ``fleet status`` and one
maintenance pass of ``serve`` (purge and gauges)."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from provisioner.app.maintenance import maintain
from provisioner.app.service import Service
from provisioner.cli import main
from provisioner.db.models import DeviceEvent
from provisioner.domain.delivery.pipeline import Fetch
from provisioner.domain.demo import demo_rows
from provisioner.domain.timeline import Event, EventKind
from provisioner.metrics import exposition
from provisioner.settings import Settings
from tests.support.api import Api
from tests.support.fleet import seed


def test_readyz_is_503_while_migrations_are_behind(service: Service, client: FlaskClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json is not None
    assert ready.json["ready"] is True
    head = ready.json["expected_schema"]
    service.db.downgrade("-1")
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json is not None
    assert behind.json["schema"] != head
    service.db.upgrade()
    assert client.get("/readyz").status_code == 200


def test_convergence_api_for_every_role(service: Service, api: Api) -> None:
    seed(service)
    mac = demo_rows()[0]["mac"]
    service.provisioner.deliver(Fetch(path=f"cfg{mac}.xml", protocol="tftp", source="127.0.0.1"))
    service.timeline.flush()
    total = len({row["mac"] for row in demo_rows()})
    for role in ("admin", "warehouse", "support", "readonly"):
        body = api.ok("GET", "/convergence", role=role)
        assert body["fleet"] == {"current": 1, "behind": 0, "never_fetched": total - 1}
    other = api.ok("GET", "/convergence?tenant=another-tenant")
    assert other["fleet"] == {"current": 0, "behind": 0, "never_fetched": 0}
    assert other["tenants"] == {}
    api.refused("GET", "/convergence?bogus=1", 422)
    assert api.client.get("/api/v1/convergence").status_code == 401


def test_fleet_status_cli(service: Service, settings: Settings) -> None:
    seed(service)
    env = {"PROVISIONER_SECRET_KEY": settings.secret_key}
    shown = CliRunner().invoke(main, ["fleet", "status", "--db", settings.db], env=env)
    assert shown.exit_code == 0, shown.output
    total = len({row["mac"] for row in demo_rows()})
    fleet_row = next(line for line in shown.output.splitlines() if "fleet" in line)
    assert [cell.strip() for cell in fleet_row.split("│")[1:-1]] == ["fleet", "0", "0", str(total)]


def test_a_maintenance_pass_purges_and_sets_the_gauges(service: Service) -> None:
    seed(service)
    mac = demo_rows()[0]["mac"]
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for day in range(12):
        at = long_ago + dt.timedelta(days=day)
        service.timeline.record(Event(mac, EventKind.FETCH, status=200, at=at))
    service.timeline.flush()
    assert maintain(service, now=dt.datetime(2021, 1, 1, tzinfo=dt.UTC)) == 2  # 10 kept
    scraped = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition().decode())
        for sample in family.samples
    }
    with service.db.session() as session:
        events = session.execute(select(func.count(DeviceEvent.id))).scalar_one()
    assert scraped["provisioner_timeline_events", ()] == events
    oldest = long_ago + dt.timedelta(days=2)  # the two oldest went
    assert scraped["provisioner_timeline_oldest_event_timestamp_seconds", ()] == oldest.timestamp()
    total = len({row["mac"] for row in demo_rows()})
    assert scraped["provisioner_fleet_devices", (("state", "never_fetched"),)] == total
