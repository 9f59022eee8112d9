"""The PBX directory built from the inventory, without Kamailio."""

from __future__ import annotations

from provisioner.app.service import Service
from provisioner.db.models import Tenant, TenantStatus
from provisioner.pbx.directory import build_directory
from tests.support.pbx_support import REALM


def test_suspended_tenants_are_not_exported(pbx_inventory: Service) -> None:
    with pbx_inventory.db.session() as session:
        session.query(Tenant).filter(Tenant.name == "other").one().status = TenantStatus.SUSPENDED
    with pbx_inventory.db.session() as session:
        directory = build_directory(session, pbx_inventory.box, REALM)
    assert {s.tenant for s in directory.subscribers} == {"acme"}
