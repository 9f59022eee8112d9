"""Thousands of bound Grandstream phones, written straight into the tables: a sheet import
of 10,000 rows would take minutes, these inserts take seconds."""

from __future__ import annotations

from provisioner.app.service import Service
from provisioner.db.models import Account, Device, DeviceLine, DeviceState, Tenant
from provisioner.secretbox import generate_secret
from provisioner.vendors import all_models

PER_TENANT = 1000  # extensions are four digits


def bulk_fleet(service: Service, count: int, model_name: str = "GRP2614") -> list[str]:
    """``count`` bound phones, one line each, every secret column filled; their MACs."""
    model = next(m for m in all_models() if m.model == model_name)
    box = service.box
    tenants = (count + PER_TENANT - 1) // PER_TENANT
    macs = [f"000b82{0x100000 + index:06x}" for index in range(count)]
    with service.db.session() as session:
        conn = session.connection()
        base = conn.execute(Tenant.__table__.insert().returning(Tenant.id), [
            {"name": f"bulk-{t}", "allowed_networks": []} for t in range(tenants)
        ]).scalars().all()  # fmt: skip
        conn.execute(Account.__table__.insert(), [
            {"id": i + 1, "tenant_id": base[i // PER_TENANT], "extension": f"{i % PER_TENANT:04d}",
             "display_name": f"line {i}", "sip_username": f"bulk{i:06d}",
             "sip_password_encrypted": box.encrypt(generate_secret())}
            for i in range(count)
        ])  # fmt: skip
        conn.execute(Device.__table__.insert(), [
            {"id": i + 1, "mac": mac, "vendor": model.vendor, "model": model.model,
             "kind": model.kind.value, "state": DeviceState.BOUND.value,
             "tenant_id": base[i // PER_TENANT], "http_user": f"u{mac}",
             "admin_password_encrypted": box.encrypt(generate_secret()),
             "http_password_encrypted": box.encrypt(generate_secret(24)),
             "config_key_encrypted": box.encrypt(generate_secret(32))}
            for i, mac in enumerate(macs)
        ])  # fmt: skip
        conn.execute(DeviceLine.__table__.insert(), [
            {"device_id": i + 1, "port": 1, "account_id": i + 1} for i in range(count)
        ])  # fmt: skip
    return macs
