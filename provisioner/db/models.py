"""The inventory as typed SQLAlchemy 2 models (docs/architecture.md, 'Data model').

Secret columns end in ``_encrypted`` and hold :class:`provisioner.secretbox.SecretBox`
tokens: the database never sees a SIP password or device credential in clear.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(at: dt.datetime) -> dt.datetime:
    """A stored time as UTC: SQLite hands back naive datetimes, and everything stored is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: DateTime(timezone=True),
    }


class TenantStatus(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class DeviceState(enum.StrEnum):
    IN_STOCK = "in_stock"
    BOUND = "bound"
    STAGED = "staged"
    SHIPPED = "shipped"
    INSTALLED = "installed"
    RETIRED = "retired"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda members: [m.value for m in members])


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[TenantStatus] = mapped_column(
        _enum(TenantStatus, "tenant_status"), default=TenantStatus.ACTIVE
    )
    allowed_networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Seconds its phones ask to stay registered; None: PROVISIONER_REGISTRATION_EXPIRY (issue 19).
    registration_expiry: Mapped[int | None] = mapped_column(Integer)
    # Feature codes the tenant's park and pickup keys dial (issue 15); the PBX core's.
    park_code: Mapped[str] = mapped_column(String(16), default="*70")
    pickup_code: Mapped[str] = mapped_column(String(16), default="*8")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    accounts: Mapped[list[Account]] = relationship(back_populates="tenant")
    representative_numbers: Mapped[list[RepresentativeNumber]] = relationship(
        back_populates="tenant"
    )


class Account(Base):
    """One SIP line ("ID"): a tenant-local extension, optionally a direct number."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "extension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    extension: Mapped[str] = mapped_column(String(4))
    direct_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    sip_username: Mapped[str] = mapped_column(String(40), unique=True)
    sip_password_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="accounts")


class RepresentativeNumber(Base):
    """A number shared by several accounts' devices (at most 3, at most the account count)."""

    __tablename__ = "representative_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(String(20), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="representative_numbers")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(12), unique=True)  # 12 lower-case hex digits
    vendor: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    hardware_revision: Mapped[str | None] = mapped_column(String(20))
    firmware_version: Mapped[str | None] = mapped_column(String(40))
    ownership: Mapped[str] = mapped_column(String(10), default="rental")
    state: Mapped[DeviceState] = mapped_column(
        _enum(DeviceState, "device_state"), default=DeviceState.IN_STOCK
    )
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    caller_id_number_id: Mapped[int | None] = mapped_column(ForeignKey("representative_numbers.id"))
    admin_password_encrypted: Mapped[str] = mapped_column(Text)
    # Provisioning credentials, generated when the device is bound, rotated on a re-bind to
    # another tenant; delivered only on the staging networks (issue 3).
    http_user: Mapped[str | None] = mapped_column(String(40))
    http_password_encrypted: Mapped[str | None] = mapped_column(Text)
    config_key_encrypted: Mapped[str | None] = mapped_column(Text)  # Grandstream P1359
    encrypt_config: Mapped[bool] = mapped_column(Boolean, default=False)
    ring_representative: Mapped[bool] = mapped_column(Boolean, default=True)
    expansion_modules: Mapped[int] = mapped_column(Integer, default=0)  # key modules (issue 15)
    # On-site re-enrolment (issue 13): until then, one credential-less fetch from the tenant's
    # networks gets the file with the (rotated) provisioning credentials; None: not armed.
    re_enrol_until: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tenant: Mapped[Tenant | None] = relationship()
    caller_id_number: Mapped[RepresentativeNumber | None] = relationship()
    lines: Mapped[list[DeviceLine]] = relationship(
        back_populates="device", order_by="DeviceLine.port", cascade="all, delete-orphan"
    )


class DeviceLine(Base):
    """The account on one line key (phone) or FXS port (ATA)."""

    __tablename__ = "device_lines"
    __table_args__ = (UniqueConstraint("device_id", "port"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    port: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    fax_mode: Mapped[str | None] = mapped_column(String(12))
    # Rings for the tenant's representative numbers; None: the default (not on a FAX port,
    # and as the device says), see domain.inventory.representatives.rings_for_representative
    ring_representative: Mapped[bool | None] = mapped_column(Boolean)

    device: Mapped[Device] = relationship(back_populates="lines")
    account: Mapped[Account] = relationship()


class DeviceEvent(Base):
    """One entry of a device's timeline: a fetch, a refusal, an import, a state change."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # provisioner.domain.timeline.EventKind
    actor: Mapped[str | None] = mapped_column(String(100))
    protocol: Mapped[str | None] = mapped_column(String(10))
    filename: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    firmware: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)

    device: Mapped[Device] = relationship()


class ServedFile(Base):
    """The device's own file as last served, written as it is served (issue 19).

    The timeline gets fetches in batches, each HTTP worker from its own queue, so for a
    moment the newest recorded fetch is not the newest fetch; the resync after an admin
    change decides from this row. Keyed by MAC: the pipeline knows it without a lookup.
    """

    __tablename__ = "served_files"

    mac: Mapped[str] = mapped_column(String(12), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(45))
    served_at: Mapped[dt.datetime] = mapped_column()


class ApiRole(enum.StrEnum):
    ADMIN = "admin"  # everything, SIP passwords included
    WAREHOUSE = "warehouse"  # binds, stages and ships; never sees a SIP password
    SUPPORT = "support"  # reads timelines, triggers resync
    READONLY = "readonly"
    CUSTOMER = "customer"  # a customer's administrator: its own tenant only, never a secret


STAFF_ROLES = tuple(role for role in ApiRole if role is not ApiRole.CUSTOMER)


class ApiToken(Base):
    """A bearer token of the admin API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[ApiRole] = mapped_column(_enum(ApiRole, "api_role"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))  # customer tokens
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    tenant: Mapped[Tenant | None] = relationship()


class Lockout(Base):
    """A source address locked out by one worker, so that every worker refuses it."""

    __tablename__ = "lockouts"

    source: Mapped[str] = mapped_column(String(45), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(index=True)


class InventoryRevision(Base):
    """A counter bumped by every change that can alter a rendered file.

    Rendered files are cached per process; a cache is valid while this number stands still.
    The bump happens in the same transaction as the change (see ``db.session``).
    """

    __tablename__ = "inventory_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class RenderChange(Base):
    """The inventory revision at which a device's rendered files last changed.

    ``subject`` is the device's MAC, or ``"*"`` for a change that may alter every file. It is
    written in the transaction that bumps the revision (see ``db.render_changes``), so a cache
    that saw revision R drops only the files of the subjects changed after R: one device's
    change leaves every other device's file cached. One row per subject, whatever the history.
    """

    __tablename__ = "render_changes"

    subject: Mapped[str] = mapped_column(String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, index=True)


class StoredRender(Base):
    """A device's rendered file, kept for every worker and instance and across restarts.

    Each worker keeps its own files in memory; without this, a restart or a second worker
    renders every device again, and a power cut's first fetches are all renders. The row is
    valid while no ``render_changes`` row of its MAC (or ``"*"``) is newer than ``revision``,
    the inventory revision read before the device was. ``sealed`` is the body compressed and
    encrypted under a key derived from the service key (``domain.delivery.render_store``): the
    file carries SIP passwords, which the database otherwise holds only encrypted.
    """

    __tablename__ = "stored_renders"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the variant
    mac: Mapped[str] = mapped_column(String(12), index=True)
    # What else the bytes are made of: the server's settings a file names and the code and
    # templates that render it (sha256); a render by other settings or code is not this one.
    renderer: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Rendered:
    """Mixed into models of other modules whose rows end up in rendered files."""


# Rows of these tables end up in rendered files.
RENDERED_MODELS: tuple[type, ...] = (
    Tenant,
    Account,
    RepresentativeNumber,
    Device,
    DeviceLine,
    Rendered,
)
