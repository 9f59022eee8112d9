"""Firmware rollouts and per-device firmware state (issue 7, migration 0006).

Rollouts and device holds/pins change what devices are told, so they are ``Rendered``: a
change bumps the inventory revision and rendered files are made again. Download counts
change on every image download and decide nothing by themselves, so they are not.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Base, Device, Rendered, Tenant, utcnow


class FirmwareRollout(Rendered, Base):
    """A policy: a model's devices (narrowed by tenant, MACs, hardware) walk ``steps``."""

    __tablename__ = "firmware_rollouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    vendor: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(20), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    devices: Mapped[list[str]] = mapped_column(JSON, default=list)  # MACs; empty: all
    hardware_revisions: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps: Mapped[list[dict[str, object]]] = mapped_column(JSON)  # firmware.policy.Step fields
    canary: Mapped[list[str]] = mapped_column(JSON, default=list)
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    pause_seconds: Mapped[int | None] = mapped_column(Integer)  # None: released by command
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(10), default="running")
    paused_reason: Mapped[str | None] = mapped_column(Text)
    loop_limit: Mapped[int] = mapped_column(Integer)
    failure_percent: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tenant: Mapped[Tenant | None] = relationship()


class FirmwareDevice(Rendered, Base):
    """An operator's (or the loop detector's) word on one device: held, or pinned."""

    __tablename__ = "firmware_devices"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    pinned: Mapped[dict[str, object] | None] = mapped_column(JSON)  # a Step's fields
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    device: Mapped[Device] = relationship()


class FirmwareDownloadCount(Base):
    """Whole downloads of one image at one reported version (loop detection)."""

    __tablename__ = "firmware_download_counts"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    image: Mapped[str] = mapped_column(String(120))
    version: Mapped[str | None] = mapped_column(String(40))
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
