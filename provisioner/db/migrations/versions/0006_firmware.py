"""Firmware rollout policy and device progress (issue 7).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firmware_rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("hardware_revisions", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("canary", sa.JSON(), nullable=False),
        sa.Column("canary_percent", sa.Integer(), nullable=False),
        sa.Column("pause_seconds", sa.Integer(), nullable=True),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("loop_limit", sa.Integer(), nullable=False),
        sa.Column("failure_percent", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_firmware_rollouts_model", "firmware_rollouts", ["model"])
    op.create_table(
        "firmware_devices",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("pinned", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_table(
        "firmware_download_counts",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("image", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("firmware_download_counts")
    op.drop_table("firmware_devices")
    op.drop_index("ix_firmware_rollouts_model", table_name="firmware_rollouts")
    op.drop_table("firmware_rollouts")
