"""Settings with inheritance, raw vendor parameters and programmable keys (issue 15).

A ``SettingValue`` row sets one catalogue setting (``provisioner.vendors.settings``) at one
level: a tenant, a model (service-wide) or a device; the service default is the catalogue's.
A ``RawParameter`` row sets one vendor parameter by its own name, for a device or for a
tenant's devices of one model (a name means something only within one model family).
A ``DeviceKey`` row is one programmable key of a device by position (none: the default
layout). All end up in rendered files, so they are ``Rendered``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from provisioner.db.models import Base, Rendered, utcnow

# Exactly one of tenant, model and device (portable: no boolean arithmetic in PostgreSQL).
ONE_LEVEL = (
    "(tenant_id IS NOT NULL AND model IS NULL AND device_id IS NULL)"
    " OR (tenant_id IS NULL AND model IS NOT NULL AND device_id IS NULL)"
    " OR (tenant_id IS NULL AND model IS NULL AND device_id IS NOT NULL)"
)


class SettingValue(Rendered, Base):
    __tablename__ = "setting_values"
    __table_args__ = (
        UniqueConstraint("tenant_id", "model", "device_id", "name"),
        CheckConstraint(
            ONE_LEVEL,
            name="one_level",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model: Mapped[str | None] = mapped_column(String(20))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RawParameter(Rendered, Base):
    __tablename__ = "raw_parameters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "model", "device_id", "name"),
        CheckConstraint(
            "(device_id IS NOT NULL AND tenant_id IS NULL AND model IS NULL)"
            " OR (device_id IS NULL AND tenant_id IS NOT NULL AND model IS NOT NULL)",
            name="device_or_tenant_model",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model: Mapped[str | None] = mapped_column(String(20))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeviceKey(Rendered, Base):
    __tablename__ = "device_keys"
    __table_args__ = (UniqueConstraint("device_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(12))  # provisioner.vendors.base.KeyType
    value: Mapped[str] = mapped_column(String(32), default="")
    label: Mapped[str] = mapped_column(String(32), default="")
