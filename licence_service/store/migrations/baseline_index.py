"""The first release's chain-index tables (``ledger_client.index``), for revision 0001.

Kept apart from the revision so each module holds one part of the schema; frozen like it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create() -> None:
    op.create_table(
        "chain_batch",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("agency", sa.LargeBinary(length=32), nullable=False),
        sa.Column("submitter", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("contract", "batch_id"),
    )
    with op.batch_alter_table("chain_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_batch_agency"), ["agency"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_batch_root"), ["root"], unique=False)
    op.create_table(
        "chain_checkpoint",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contract"),
    )
    op.create_table(
        "chain_leaf",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("contract", "leaf", "batch_id"),
    )
    with op.batch_alter_table("chain_leaf", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_leaf_key"), ["key"], unique=False)
    op.create_table(
        "chain_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.Integer(), nullable=False),
        sa.Column("to_status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract", "tx_hash", "log_index"),
    )
    with op.batch_alter_table("chain_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_status_contract"), ["contract"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_status_leaf"), ["leaf"], unique=False)
    op.create_table(
        "chain_successor",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("child", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("contract", "leaf", "region"),
    )
    with op.batch_alter_table("chain_successor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_successor_child"), ["child"], unique=False)

    # ### end Alembic commands ###


def drop() -> None:
    with op.batch_alter_table("chain_successor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_successor_child"))
    op.drop_table("chain_successor")
    with op.batch_alter_table("chain_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_status_leaf"))
        batch_op.drop_index(batch_op.f("ix_chain_status_contract"))
    op.drop_table("chain_status")
    with op.batch_alter_table("chain_leaf", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_leaf_key"))
    op.drop_table("chain_leaf")
    op.drop_table("chain_checkpoint")
    with op.batch_alter_table("chain_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_batch_root"))
        batch_op.drop_index(batch_op.f("ix_chain_batch_agency"))
    op.drop_table("chain_batch")
