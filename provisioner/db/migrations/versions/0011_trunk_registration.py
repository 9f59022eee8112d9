"""Trunk registration of gateways: the carrier account and its reported state; per-line
ringing for representative numbers (issue 14).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_profiles") as batch:
        batch.add_column(
            sa.Column("trunk_register", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("trunk_user", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("trunk_auth_user", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("trunk_password_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("trunk_registrar", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("trunk_outbound_proxy", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("trunk_expires", sa.Integer(), nullable=False, server_default="3600")
        )
        batch.add_column(sa.Column("trunk_state", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("trunk_state_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("device_lines") as batch:
        batch.add_column(sa.Column("ring_representative", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_lines") as batch:
        batch.drop_column("ring_representative")
    with op.batch_alter_table("gateway_profiles") as batch:
        for column in ("trunk_state_at", "trunk_state", "trunk_expires", "trunk_outbound_proxy",
                       "trunk_registrar", "trunk_password_encrypted", "trunk_auth_user",
                       "trunk_user", "trunk_register"):  # fmt: skip
            batch.drop_column(column)
