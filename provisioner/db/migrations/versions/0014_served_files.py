"""The device's own file as last served, for the resync after an admin change, and a tenant's
own registration expiry (issue 19).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "served_files",
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=45), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mac"),
    )
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("registration_expiry", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("registration_expiry")
    op.drop_table("served_files")
