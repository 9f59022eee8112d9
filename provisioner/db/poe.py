"""PoE switches, their ports, where each device was seen, alerts and power-cycle intents (issue 5).

SNMP secrets (v2c community, v3 auth and priv keys) end in ``_encrypted`` and hold
:class:`provisioner.secretbox.SecretBox` tokens, like every other secret of the inventory.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Base, Device, Tenant, utcnow


class PoeSwitch(Base):
    """A switch (or managed midspan) polled over SNMP; site None is the warehouse bench."""

    __tablename__ = "poe_switches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=161)
    snmp_version: Mapped[str] = mapped_column(String(2))  # "2c" or "3"
    community_encrypted: Mapped[str | None] = mapped_column(Text)
    v3_user: Mapped[str | None] = mapped_column(String(64))
    v3_auth_key_encrypted: Mapped[str | None] = mapped_column(Text)  # SHA
    v3_priv_key_encrypted: Mapped[str | None] = mapped_column(Text)  # AES-128
    context: Mapped[str] = mapped_column(String(64), default="")  # v3 context name
    vendor: Mapped[str] = mapped_column(String(20))  # a profile of provisioner.snmp.profiles
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    poll_interval: Mapped[int] = mapped_column(Integer, default=60)  # seconds
    # {"<group>.<port>": ifIndex} where the vendor profile's mapping is wrong for a model.
    port_map: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Interface names that are uplinks whatever they carry (besides the automatic rule).
    uplinks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_poll_at: Mapped[dt.datetime | None] = mapped_column()
    last_ok_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    # The PSEs of the last answered poll: [{"group", "budget_w", "consumption_w", "status"}].
    pse: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)

    tenant: Mapped[Tenant | None] = relationship()
    ports: Mapped[list[PoePort]] = relationship(
        back_populates="switch",
        order_by="(PoePort.group, PoePort.index)",
        cascade="all, delete-orphan",
    )


class PoePort(Base):
    """One PSE port as last polled (RFC 3621 index ``group.index``) and the device on it."""

    __tablename__ = "poe_ports"
    __table_args__ = (UniqueConstraint("switch_id", "group", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    switch_id: Mapped[int] = mapped_column(ForeignKey("poe_switches.id", ondelete="CASCADE"))
    group: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    ifindex: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))  # ifName, else "<group>/<index>"
    admin_enabled: Mapped[bool] = mapped_column(Boolean)
    detection: Mapped[str] = mapped_column(String(20))  # RFC 3621 names, e.g. deliveringPower
    power_class: Mapped[int | None] = mapped_column(Integer)  # 0..4
    power_mw: Mapped[int | None] = mapped_column(Integer)  # None: the vendor does not say
    link_up: Mapped[bool | None] = mapped_column(Boolean)
    uplink: Mapped[bool] = mapped_column(Boolean, default=False)
    macs: Mapped[list[str]] = mapped_column(JSON, default=list)
    neighbours: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    switch: Mapped[PoeSwitch] = relationship(back_populates="ports")
    device: Mapped[Device | None] = relationship()

    @property
    def label(self) -> str:
        return f"{self.switch.name} {self.name}"


class PoeLocation(Base):
    """Where a device was last seen, kept when it goes dark (that is how we know it did)."""

    __tablename__ = "poe_locations"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    port_id: Mapped[int] = mapped_column(ForeignKey("poe_ports.id", ondelete="CASCADE"))
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    port: Mapped[PoePort] = relationship()
    device: Mapped[Device] = relationship()


class PoeAlert(Base):
    """An alert is active until ``cleared_at``; one active alert per kind and subject."""

    __tablename__ = "poe_alerts"
    __table_args__ = (Index("ix_poe_alerts_active", "switch_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    switch_id: Mapped[int] = mapped_column(ForeignKey("poe_switches.id", ondelete="CASCADE"))
    port_id: Mapped[int | None] = mapped_column(ForeignKey("poe_ports.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # provisioner.domain.poe.alerts.AlertKind
    subject: Mapped[str] = mapped_column(String(100))  # e.g. "sw1 Gi1/0/22", "sw1 PSE 1"
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column()

    switch: Mapped[PoeSwitch] = relationship()


class PoeCycle(Base):
    """A power-cycle, written before the first SET so that a restart can finish it.

    States: requested -> off (power cut) -> on (power restored) -> done, or failed.
    """

    __tablename__ = "poe_cycles"
    __table_args__ = (Index("ix_poe_cycles_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    switch_id: Mapped[int] = mapped_column(ForeignKey("poe_switches.id", ondelete="CASCADE"))
    group: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    port_name: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="requested")  # poe.cycles.CycleState
    off_seconds: Mapped[int] = mapped_column(Integer, default=5)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    off_at: Mapped[dt.datetime | None] = mapped_column()
    on_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(Text)
    # The process working on it renews its lease; a lease run out means it died.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column()

    switch: Mapped[PoeSwitch] = relationship()
    device: Mapped[Device | None] = relationship()
