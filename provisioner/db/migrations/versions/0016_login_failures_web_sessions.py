"""Logins counted per address and per (address, name), not per account; server-side page
sessions (issue 17: a bench host could lock every account; logout left the cookie valid).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_failures") as batch:
        batch.create_index(batch.f("ix_login_failures_last_at"), ["last_at"], unique=False)
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("web_sessions") as batch:
        batch.create_index(batch.f("ix_web_sessions_username"), ["username"], unique=False)
        batch.create_index(batch.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False)
    # The per-account lockout is gone: anyone could trigger it for every account.
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_index(batch.f("ix_web_sessions_expires_at"))
        batch.drop_index(batch.f("ix_web_sessions_username"))
    op.drop_table("web_sessions")
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_index(batch.f("ix_login_failures_last_at"))
    op.drop_table("login_failures")
