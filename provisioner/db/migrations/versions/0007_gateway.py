"""Gateways: licences, number maps, CDRs (issue 6).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "licence_issuer_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "gateway_licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("not_before", _WHEN, nullable=False),
        sa.Column("expires", _WHEN, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", _WHEN, nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("serial"),
    )
    op.create_index("ix_gateway_licences_device_id", "gateway_licences", ["device_id"])
    op.create_table(
        "gateway_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("did", sa.String(length=20), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("did"),
    )
    op.create_index("ix_gateway_numbers_device_id", "gateway_numbers", ["device_id"])
    op.create_table(
        "gateway_profiles",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("trunk_host", sa.String(length=255), nullable=False),
        sa.Column("trunk_port", sa.Integer(), nullable=False),
        sa.Column("trunk_transport", sa.String(length=3), nullable=False),
        sa.Column("cores", sa.JSON(), nullable=False),
        sa.Column("refusal", sa.String(length=12), nullable=False),
        sa.Column("default_caller_id", sa.String(length=20), nullable=True),
        sa.Column("max_call_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_table(
        "gateway_cdrs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("did", sa.String(length=20), nullable=True),
        sa.Column("from_uri", sa.String(length=255), nullable=False),
        sa.Column("to_uri", sa.String(length=255), nullable=False),
        sa.Column("start", _WHEN, nullable=False),
        sa.Column("answer", _WHEN, nullable=True),
        sa.Column("end", _WHEN, nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("q850", sa.Integer(), nullable=True),
        sa.Column("channels_in_use", sa.Integer(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("received_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "call_id"),
    )
    op.create_index("ix_gateway_cdrs_tenant_start", "gateway_cdrs", ["tenant_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_gateway_cdrs_tenant_start", table_name="gateway_cdrs")
    op.drop_table("gateway_cdrs")
    op.drop_table("gateway_profiles")
    op.drop_index("ix_gateway_numbers_device_id", table_name="gateway_numbers")
    op.drop_table("gateway_numbers")
    op.drop_index("ix_gateway_licences_device_id", table_name="gateway_licences")
    op.drop_table("gateway_licences")
    op.drop_table("licence_issuer_keys")
