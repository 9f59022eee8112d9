"""Settings with inheritance, raw vendor parameters, programmable keys, phonebook (issue 15).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Exactly one of tenant, model and device (portable: no boolean arithmetic in PostgreSQL).
ONE_LEVEL = (
    "(tenant_id IS NOT NULL AND model IS NULL AND device_id IS NULL)"
    " OR (tenant_id IS NULL AND model IS NOT NULL AND device_id IS NULL)"
    " OR (tenant_id IS NULL AND model IS NULL AND device_id IS NOT NULL)"
)


def _scoped(table: str, name_length: int, value_length: int, check: str, check_name: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=20), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=name_length), nullable=False),
        sa.Column("value", sa.String(length=value_length), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(check, name=check_name),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "model", "device_id", "name"),
    )


def upgrade() -> None:
    _scoped(
        "setting_values", 40, 255,
        ONE_LEVEL,
        "one_level",
    )  # fmt: skip
    _scoped(
        "raw_parameters", 80, 500,
        "(device_id IS NOT NULL AND tenant_id IS NULL AND model IS NULL)"
        " OR (device_id IS NULL AND tenant_id IS NOT NULL AND model IS NOT NULL)",
        "device_or_tenant_model",
    )  # fmt: skip

    op.create_table(
        "device_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "position"),
    )
    op.create_table(
        "phonebook_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("reading", sa.String(length=100), nullable=False),
        sa.Column("group", sa.String(length=50), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phonebook_entries_tenant", "phonebook_entries", ["tenant_id"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(
            sa.Column("expansion_modules", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("park_code", sa.String(length=16), nullable=False, server_default="*70")
        )
        batch.add_column(
            sa.Column("pickup_code", sa.String(length=16), nullable=False, server_default="*8")
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("pickup_code")
        batch.drop_column("park_code")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("expansion_modules")
    op.drop_table("device_keys")
    op.drop_index("ix_phonebook_entries_tenant", "phonebook_entries")
    op.drop_table("phonebook_entries")
    op.drop_table("raw_parameters")
    op.drop_table("setting_values")
