"""Convergence figures on a fleet where some devices fetched the current file, one fetched
a file the inventory has changed since, and the rest never fetched."""

from __future__ import annotations

from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, DeviceLine
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.demo import DEMO_TENANT, demo_rows
from provisioner.domain.operations.convergence import Convergence, convergence
from provisioner.vendors import all_models, vendor
from tests.support.caches import follow_every_change
from tests.support.fleet import seed


def own_file(mac: str, model_name: str) -> str:
    model = next(m for m in all_models() if m.model == model_name)
    return vendor(model.vendor).device_filename(mac, model)


def fetch(service: Service, mac: str, model: str) -> None:
    delivery = service.provisioner.deliver(
        Fetch(path=own_file(mac, model), protocol="tftp", source="127.0.0.1")
    )
    assert delivery.outcome is Outcome.SERVED


def test_figures_match_the_fleet(service: Service) -> None:
    seed(service)
    follow_every_change(service.provisioner)  # a change reaches the next fetch at once
    devices = sorted({(row["mac"], row["model"]) for row in demo_rows()})
    fetched, changed = devices[:5], devices[5]
    for mac, model in (*fetched, changed):
        fetch(service, mac, model)
    service.timeline.flush()
    with service.db.session() as session:  # the changed device's line gets a new name
        account = (
            session.execute(
                select(Account)
                .join(DeviceLine, DeviceLine.account_id == Account.id)
                .join(Device, Device.id == DeviceLine.device_id)
                .where(Device.mac == changed[0])
            )
            .scalars()
            .first()
        )
        assert account is not None
        account.display_name = "名前 変更"
    # Other devices on that account change too: they are behind only if they had fetched.
    with service.db.session() as session:
        sharing = set(
            session.execute(
                select(Device.mac)
                .join(DeviceLine, DeviceLine.device_id == Device.id)
                .where(DeviceLine.account_id == account.id)
            ).scalars()
        )
    behind = {mac for mac, _ in (*fetched, changed) if mac in sharing}
    assert changed[0] in behind

    figures = convergence(service.provisioner)

    assert figures.fleet.as_dict() == {
        "current": 6 - len(behind),
        "behind": len(behind),
        "never_fetched": len(devices) - 6,
    }
    assert {status.mac for status in figures.behind} == behind
    assert all(s.state is Convergence.BEHIND and s.behind_since for s in figures.behind)
    assert figures.tenants[DEMO_TENANT].as_dict() == figures.fleet.as_dict()
    assert sum(f.behind for f in figures.models.values()) == len(behind)
    fetch(service, *changed)  # it fetches again: current again
    service.timeline.flush()
    assert changed[0] not in {s.mac for s in convergence(service.provisioner).behind}


def test_another_tenant_sees_nothing(service: Service) -> None:
    seed(service)
    assert convergence(service.provisioner, tenant="nobody").fleet.as_dict() == {
        "current": 0,
        "behind": 0,
        "never_fetched": 0,
    }
