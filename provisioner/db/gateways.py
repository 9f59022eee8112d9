"""Gateways (32Gateway, issue 6): licences, the issuer key, number maps, trunk settings, CDRs.

A gateway is a :class:`~provisioner.db.models.Device` of kind ``gateway``; these tables hang
off it. The issuer's private key is a secret: it is stored encrypted like every other one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Base, Device, Tenant, utcnow


class IssuerKey(Base):
    """The Ed25519 key that signs every licence: made once, its private half encrypted."""

    __tablename__ = "licence_issuer_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GatewayLicence(Base):
    """One issued licence and the exact signed document the gateway receives."""

    __tablename__ = "gateway_licences"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    channels: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[dt.datetime] = mapped_column()
    expires: Mapped[dt.datetime] = mapped_column()
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100))

    device: Mapped[Device] = relationship()
    tenant: Mapped[Tenant] = relationship()


class GatewayNumber(Base):
    """A ported number (DID) on one gateway and where its calls go on the PBX core."""

    __tablename__ = "gateway_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    did: Mapped[str] = mapped_column(String(20), unique=True)  # one gateway per DID
    destination: Mapped[str] = mapped_column(String(20))  # extension or representative number

    device: Mapped[Device] = relationship()


class GatewayProfile(Base):
    """The legacy line and PBX cores a gateway talks to, and how it refuses a full licence."""

    __tablename__ = "gateway_profiles"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    trunk_host: Mapped[str] = mapped_column(String(255))
    trunk_port: Mapped[int] = mapped_column(Integer, default=5060)
    trunk_transport: Mapped[str] = mapped_column(String(3), default="udp")
    cores: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    refusal: Mapped[str] = mapped_column(String(12), default="busy")
    default_caller_id: Mapped[str | None] = mapped_column(String(20))
    max_call_seconds: Mapped[int] = mapped_column(Integer, default=7200)
    # A carrier that wants its terminal to REGISTER and answer digest challenges (issue 14);
    # off: the carrier trusts the trunk by its address.
    trunk_register: Mapped[bool] = mapped_column(Boolean, default=False)
    trunk_user: Mapped[str | None] = mapped_column(String(64))
    trunk_auth_user: Mapped[str | None] = mapped_column(String(64))  # None: trunk_user
    trunk_password_encrypted: Mapped[str | None] = mapped_column(Text)
    trunk_registrar: Mapped[dict[str, object] | None] = mapped_column(JSON)  # None: the trunk
    trunk_outbound_proxy: Mapped[dict[str, object] | None] = mapped_column(JSON)
    trunk_expires: Mapped[int] = mapped_column(Integer, default=3600)
    # what the gateway last reported about its registration ("registered" or why not)
    trunk_state: Mapped[str | None] = mapped_column(String(200))
    trunk_state_at: Mapped[dt.datetime | None] = mapped_column()

    device: Mapped[Device] = relationship()


class CallRecord(Base):
    """One call attempt through a gateway, as the gateway reported it (idempotent by call ID)."""

    __tablename__ = "gateway_cdrs"
    __table_args__ = (
        UniqueConstraint("device_id", "call_id"),
        Index("ix_gateway_cdrs_tenant_start", "tenant_id", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    call_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8))
    did: Mapped[str | None] = mapped_column(String(20))
    from_uri: Mapped[str] = mapped_column(String(255))
    to_uri: Mapped[str] = mapped_column(String(255))
    start: Mapped[dt.datetime] = mapped_column()
    answer: Mapped[dt.datetime | None] = mapped_column()
    end: Mapped[dt.datetime] = mapped_column()
    result: Mapped[str] = mapped_column(String(20))
    sip_code: Mapped[int | None] = mapped_column(Integer)
    q850: Mapped[int | None] = mapped_column(Integer)
    channels_in_use: Mapped[int] = mapped_column(Integer)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    device: Mapped[Device] = relationship()
