"""chain block hashes: the index notices a reorganisation of recent blocks

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-07 13:00:00.000000

``chain_block`` keeps the hash of the last block of each range the chain index stored (the
newest 64 per contract, ``ledger_client.index_reorg``). An index built before has none: its
first sync then simply starts keeping them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_block",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("contract", "block_number"),
    )


def downgrade() -> None:
    op.drop_table("chain_block")
