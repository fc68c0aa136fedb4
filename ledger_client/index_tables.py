"""The chain index's tables (created beside the service's own by its migrations).

``chain_block`` keeps the hash of recently indexed blocks: a sync compares the newest with the
chain's to notice a reorganisation of recent blocks (``ledger_client.index_reorg``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class IndexBase(DeclarativeBase):
    """Tables owned by the chain index (created beside the service's own tables)."""


class IndexCheckpoint(IndexBase):
    __tablename__ = "chain_checkpoint"
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_block: Mapped[int] = mapped_column(BigInteger)


class IndexedBatch(IndexBase):
    __tablename__ = "chain_batch"
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    region: Mapped[int] = mapped_column(Integer)
    agency: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    submitter: Mapped[str] = mapped_column(String(42))
    block_number: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    leaf_count: Mapped[int] = mapped_column(Integer)
    # Why the batch's leaves could not be recovered from its calldata; its leaves are then
    # not indexed (never trusted), and the batch stays here for an auditor to see.
    problem: Mapped[str | None] = mapped_column(String(500), nullable=True, default=None)


class IndexedLeaf(IndexBase):
    __tablename__ = "chain_leaf"
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)


class IndexedStatus(IndexBase):
    __tablename__ = "chain_status"
    __table_args__ = (UniqueConstraint("contract", "tx_hash", "log_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract: Mapped[str] = mapped_column(String(42), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    batch_id: Mapped[int] = mapped_column(BigInteger)
    region: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[int] = mapped_column(Integer)
    to_status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)


class IndexedSuccession(IndexBase):
    """A version link as the chain announced it; the region is kept so that a link made by
    any other region than the one that anchored the leaf is never followed."""

    __tablename__ = "chain_successor"
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    region: Mapped[int] = mapped_column(Integer, primary_key=True)
    child: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))


class IndexedBlock(IndexBase):
    """The hash of a block the index read up to (the end of a synced range), so that a later
    sync can tell whether the chain still has it, or a reorganisation replaced it."""

    __tablename__ = "chain_block"
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
