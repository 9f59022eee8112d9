"""Per-device render invalidation (render_changes); spent Digest nonces leave the database.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_changes",
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject"),
    )
    with op.batch_alter_table("render_changes") as batch:
        batch.create_index(batch.f("ix_render_changes_revision"), ["revision"], unique=False)
    # Spent nonces live in each instance's own store now (provisioner.domain.delivery.digest).
    with op.batch_alter_table("spent_nonces") as batch:
        batch.drop_index(batch.f("ix_spent_nonces_expires_at"))
    op.drop_table("spent_nonces")


def downgrade() -> None:
    op.create_table(
        "spent_nonces",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("nonce_count", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", "nonce_count"),
    )
    with op.batch_alter_table("spent_nonces") as batch:
        batch.create_index(batch.f("ix_spent_nonces_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("render_changes") as batch:
        batch.drop_index(batch.f("ix_render_changes_revision"))
    op.drop_table("render_changes")
