"""Warehouse staging (issue 4): staff who log in to the pages, and order sheets in waiting.

Only a scrypt hash of each password is stored. Failed logins are counted per account and lock it
for a while, in the database, so that every HTTP worker refuses a guesser alike.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Base, utcnow


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # scrypt$n$r$p$salt$hash
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StagingOrder(Base):
    """An order sheet whose MAC column is empty: its devices are picked at the bench."""

    __tablename__ = "staging_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    slots: Mapped[list[OrderSlot]] = relationship(
        back_populates="order", order_by="OrderSlot.position", cascade="all, delete-orphan"
    )


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
