"""read log and read alerts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:20:00.000000
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
        "licence_read",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=100), nullable=False),
        sa.Column("licence", sa.String(length=100), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("licence_read", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_read_reader"), ["reader"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_read_licence"), ["licence"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_read_at"), ["at"], unique=False)
    op.create_table(
        "read_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=100), nullable=False),
        sa.Column("distinct_licences", sa.Integer(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("read_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_read_alert_reader"), ["reader"], unique=False)
        batch_op.create_index(batch_op.f("ix_read_alert_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("read_alert")
    op.drop_table("licence_read")
