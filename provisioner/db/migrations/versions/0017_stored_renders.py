"""Rendered device files kept for every worker and instance, sealed (issue 12: a power cut's
first fetches were all renders, once per worker and again after every restart).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_renders",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("renderer", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("stored_renders") as batch:
        batch.create_index(batch.f("ix_stored_renders_mac"), ["mac"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stored_renders") as batch:
        batch.drop_index(batch.f("ix_stored_renders_mac"))
    op.drop_table("stored_renders")
