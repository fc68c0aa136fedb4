"""notification outbox and holder contact (issue 20, point 4)

``notify_message``: the transactional outbox of e-mails and text messages; ``licence`` gains
the holder's optional e-mail address and phone number (personal data, never on-chain).

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("notify_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_message_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notify_message_next_attempt_at"), ["next_attempt_at"], unique=False
        )
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("holder_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_column("holder_phone")
        batch_op.drop_column("holder_email")
    with op.batch_alter_table("notify_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_message_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notify_message_state"))
    op.drop_table("notify_message")
