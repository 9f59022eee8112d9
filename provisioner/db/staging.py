"""Warehouse staging (issue 4): staff who log in to the pages, and orders (issue 18).

Only a scrypt hash of each password is stored. Failed logins are counted per source address
and per (address, name), never per account alone, in the database so that every HTTP worker
refuses a guesser alike (``provisioner.domain.access.logins``). A logged-in page session is a
row here too, so that logging out ends it for every copy of its cookie.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Base, Tenant, utcnow


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # scrypt$n$r$p$salt$hash
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set for a customer's administrator (the customer pages, its own tenant only); such an
    # account never opens the staging pages.
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))

    tenant: Mapped[Tenant | None] = relationship()


class LoginFailure(Base):
    """Wrong logins counted under one key: ``addr NETWORK`` (every name tried from an address,
    IPv6 by /64) or ``pair NETWORK NAME`` (one name from one address)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column()


class WebSession(Base):
    """A logged-in session of the staging or customer pages. The cookie carries the id; only
    its SHA-256 is stored. Logging out deletes the row, so a copied cookie is refused after."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class StagingOrder(Base):
    """An order: device slots picked at the bench, an address, a due time, its shipment.

    Orders kept by issue 4 (no address, no due time) have those columns empty.
    """

    __tablename__ = "staging_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    tenant: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="received")  # an OrderStatus
    received_at: Mapped[dt.datetime | None] = mapped_column()
    due_at: Mapped[dt.datetime | None] = mapped_column()
    due_basis: Mapped[str | None] = mapped_column(String(500))  # how due_at was computed
    postal_code: Mapped[str | None] = mapped_column(String(8))  # NNN-NNNN
    prefecture: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    address_lines: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    delivery_band: Mapped[str | None] = mapped_column(String(20))  # "14-16"
    carrier: Mapped[str | None] = mapped_column(String(20))  # a Carrier
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    shipped_at: Mapped[dt.datetime | None] = mapped_column()

    slots: Mapped[list[OrderSlot]] = relationship(
        back_populates="order", order_by="OrderSlot.position", cascade="all, delete-orphan"
    )
    history: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )


class OrderEvent(Base):
    """One step of an order (received, picked, staged, shipped, ...) and who took it."""

    __tablename__ = "staging_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("staging_orders.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    step: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(500))

    order: Mapped[StagingOrder] = relationship(back_populates="history")


class ClosedDay(Base):
    """A day the company's warehouse is closed (year-end, summer), set by an admin."""

    __tablename__ = "company_closed_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(100))
    set_by: Mapped[str] = mapped_column(String(100))


class OrderSlot(Base):
    """One device of an order: its sheet rows (MAC empty) until a scanned device fills it."""

    __tablename__ = "staging_order_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("staging_orders.id"))
    position: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(500))  # "1:2001 受付 2:2002 総務"
    first_line: Mapped[int] = mapped_column(Integer)  # its first row's line in the upload
    rows_csv: Mapped[str] = mapped_column(Text)  # header and its rows, as uploaded
    mac: Mapped[str | None] = mapped_column(String(12))
    bound_at: Mapped[dt.datetime | None] = mapped_column()

    order: Mapped[StagingOrder] = relationship(back_populates="slots")
