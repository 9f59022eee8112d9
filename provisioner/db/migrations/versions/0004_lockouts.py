"""Lockouts shared by every worker and instance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lockouts",
        sa.Column("source", sa.String(length=45), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_index("ix_lockouts_until", "lockouts", ["until"])


def downgrade() -> None:
    op.drop_index("ix_lockouts_until", table_name="lockouts")
    op.drop_table("lockouts")
