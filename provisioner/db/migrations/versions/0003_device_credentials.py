"""Per-device provisioning credentials, admin API tokens, spent HTTP Digest nonces.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:29:58.476709
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "warehouse", "support", "readonly", name="api_role"),
            nullable=False,
        ),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "spent_nonces",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("nonce_count", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", "nonce_count"),
    )
    with op.batch_alter_table("spent_nonces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_nonces_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("http_user", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("http_password_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("config_key_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("encrypt_config", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("ring_representative", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("ring_representative")
        batch_op.drop_column("encrypt_config")
        batch_op.drop_column("config_key_encrypted")
        batch_op.drop_column("http_password_encrypted")
        batch_op.drop_column("http_user")

    with op.batch_alter_table("spent_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_nonces_expires_at"))

    op.drop_table("spent_nonces")
    op.drop_table("api_tokens")
    sa.Enum(name="api_role").drop(op.get_bind(), checkfirst=True)
