"""Warehouse orders: address, due time, status, shipment, history; company closed days (issue 18).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ORDER_COLUMNS = (
    ("tenant", sa.String(length=100)),
    ("received_at", sa.DateTime(timezone=True)),
    ("due_at", sa.DateTime(timezone=True)),
    ("due_basis", sa.String(length=500)),
    ("postal_code", sa.String(length=8)),
    ("prefecture", sa.String(length=10)),
    ("city", sa.String(length=100)),
    ("address_lines", sa.String(length=200)),
    ("recipient", sa.String(length=100)),
    ("phone", sa.String(length=20)),
    ("delivery_date", sa.Date()),
    ("delivery_band", sa.String(length=20)),
    ("carrier", sa.String(length=20)),
    ("tracking_number", sa.String(length=40)),
    ("shipped_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("staging_orders") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="received")
        )
        for name, kind in _ORDER_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "staging_order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["staging_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staging_order_events_order_id", "staging_order_events", ["order_id"])
    op.create_table(
        "company_closed_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("company_closed_days")
    op.drop_index("ix_staging_order_events_order_id", "staging_order_events")
    op.drop_table("staging_order_events")
    with op.batch_alter_table("staging_orders") as batch:
        for name, _ in reversed(_ORDER_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("status")
