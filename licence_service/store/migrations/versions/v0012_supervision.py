"""read log chained with subject and purpose; verification counts; read-log heads in the outbox

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-07 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licence_read", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("purpose", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_licence_read_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_read_purpose"), ["purpose"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_read_hash"), ["hash"], unique=False)
    # reads logged before: their subject is the licence, their purpose the route they used
    op.execute("UPDATE licence_read SET subject = 'licence:' || licence, purpose = route")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("readlog_seq", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_outbox_readlog_seq", ["readlog_seq"])
    op.create_table(
        "verification_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency", sa.String(length=18), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("licence", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification_count", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_count_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_verification_count_licence"), ["licence"], unique=False
        )


def downgrade() -> None:
    op.drop_table("verification_count")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbox_readlog_seq", type_="unique")
        batch_op.drop_column("readlog_seq")
    with op.batch_alter_table("licence_read", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_read_hash"))
        batch_op.drop_index(batch_op.f("ix_licence_read_purpose"))
        batch_op.drop_index(batch_op.f("ix_licence_read_subject"))
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("purpose")
        batch_op.drop_column("subject")
