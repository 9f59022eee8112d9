"""A demo fleet and every device's own file as a device over TFTP from loopback would get it."""

from __future__ import annotations

from provisioner.app.service import Service
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.demo import demo_rows, seed_demo
from provisioner.vendors import all_models, vendor


def seed(service: Service) -> None:
    with service.db.session() as session:
        seed_demo(session, service.box)


def demo_files(service: Service) -> dict[str, bytes]:
    """Each demo device's config, fetched through the delivery pipeline (not the cache of
    another process: the caller opens the service it wants to read through)."""
    models = {model.model: model for model in all_models()}
    files = {}
    for row in demo_rows():
        model = models[row["model"]]
        name = vendor(model.vendor).device_filename(row["mac"], model)
        delivery = service.provisioner.deliver(
            Fetch(path=name, protocol="tftp", source="127.0.0.1")
        )
        assert delivery.outcome is Outcome.SERVED, (name, delivery.reason)
        files[name] = delivery.body
    return files
