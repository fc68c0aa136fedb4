"""A local index of the registry's events, built from the chain alone.

Every verifier and auditor reads this index instead of scanning the chain. It is filled by
``ChainIndexer.sync`` in bounded block ranges; each range is stored together with the
checkpoint in one database transaction, so a crash between ranges loses nothing and reading
a range twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from ledger_client import merkle
from ledger_client.errors import ChainUnavailableError
from ledger_client.events import ChainEvents, scan
from ledger_client.registry import LeafStatus, RegistryClient

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class LeafRecord:
    """Where a leaf was anchored."""

    leaf: bytes
    batch_id: int
    root: bytes
    region: int
    agency: bytes  # keccak256 of the anchoring agency's code
    submitter: str
    block_number: int
    timestamp: int
    tx_hash: str
    position: int
    key: bytes


@dataclass(frozen=True)
class StatusRecord:
    status: LeafStatus
    reason: int
    timestamp: int
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class SyncResult:
    from_block: int
    to_block: int
    batches: int
    status_changes: int


class ChainIndexer:
    """Reads the registry's events into the index tables."""

    def __init__(
        self,
        registry: RegistryClient,
        sessions: sessionmaker[Session],
        start_block: int = 0,
        max_range: int = 2_000,
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.start_block = start_block
        self.max_range = max_range
        self.contract = registry.address
        # One sync at a time: the background loop and requests share this indexer's ranges.
        self._lock = threading.Lock()

    def checkpoint(self) -> int:
        with self.sessions() as s:
            cp = s.get(IndexCheckpoint, self.contract)
            return cp.next_block if cp else self.start_block

    def sync(self, progress: Callable[[int, int], None] | None = None) -> SyncResult:
        """Index everything up to the chain head; returns what was read."""
        with self._lock:
            return self._sync(progress)

    def head(self) -> int:
        """The chain's newest block number; an unreachable node is ``ChainUnavailableError``."""
        try:
            return int(self.registry.w3.eth.block_number)
        except Exception as exc:
            raise ChainUnavailableError(f"cannot read the chain head ({exc})") from exc

    def _sync(self, progress: Callable[[int, int], None] | None) -> SyncResult:
        head = self.head()
        start = self.checkpoint()
        if head + 1 < start:
            # The node lost blocks (restarted from an older state dump): forget them, read on.
            log.warning("chain head %s is behind the index checkpoint %s; rewinding", head, start)
            self._rewind(head + 1)
            start = head + 1
        first, batches, statuses = start, 0, 0
        for _, end, events in scan(self.registry.events_in_range, start, head, self.max_range):
            try:
                self._store(events, end + 1)
            except IntegrityError:
                # Another process stored part of it meanwhile: storing again skips what exists.
                self._store(events, end + 1)
            batches += len(events.batches)
            statuses += len(events.statuses)
            if progress:
                progress(end, head)
        return SyncResult(first, head, batches, statuses)

    def _store(self, events: ChainEvents, nxt: int) -> None:
        with self.sessions.begin() as s:
            for b in events.batches:
                if s.get(IndexedBatch, (self.contract, b.batch_id)) is not None:
                    continue
                if b.problem is not None:
                    log.warning("batch %s flagged, its leaves not indexed: %s", b.batch_id,
                                b.problem)  # fmt: skip
                s.add(
                    IndexedBatch(
                        contract=self.contract, batch_id=b.batch_id, root=b.root,
                        region=b.region, agency=b.agency, submitter=b.submitter,
                        block_number=b.tx.block_number,
                        timestamp=b.timestamp, tx_hash=b.tx.tx_hash, leaf_count=b.leaf_count,
                        problem=None if b.problem is None else b.problem[:500],
                    )
                )  # fmt: skip
                s.add_all(
                    IndexedLeaf(
                        contract=self.contract, leaf=leaf, batch_id=b.batch_id, position=i, key=key
                    )
                    for i, (leaf, key) in enumerate(zip(b.leaves, b.keys, strict=True))
                )
            for u in events.successions:
                if s.get(IndexedSuccession, (self.contract, u.leaf, u.region)) is None:
                    s.add(
                        IndexedSuccession(
                            contract=self.contract, leaf=u.leaf, region=u.region, child=u.child,
                            timestamp=u.timestamp, block_number=u.tx.block_number,
                            tx_hash=u.tx.tx_hash,
                        )
                    )  # fmt: skip
            for st in events.statuses:
                seen = s.scalar(
                    select(IndexedStatus.id).where(
                        IndexedStatus.contract == self.contract,
                        IndexedStatus.tx_hash == st.tx.tx_hash,
                        IndexedStatus.log_index == st.log_index,
                    )
                )
                if seen is not None:
                    continue
                s.add(
                    IndexedStatus(
                        contract=self.contract, leaf=st.leaf, batch_id=st.batch_id,
                        region=st.region, from_status=int(st.from_status),
                        to_status=int(st.to_status), reason=st.reason, timestamp=st.timestamp,
                        block_number=st.tx.block_number, tx_hash=st.tx.tx_hash,
                        log_index=st.log_index,
                    )
                )  # fmt: skip
            cp = s.get(IndexCheckpoint, self.contract)
            if cp is None:
                s.add(IndexCheckpoint(contract=self.contract, next_block=nxt))
            else:
                cp.next_block = nxt

    def _rewind(self, first_missing: int) -> None:
        with self.sessions.begin() as s:
            gone = select(IndexedBatch.batch_id).where(
                IndexedBatch.contract == self.contract, IndexedBatch.block_number >= first_missing
            )
            s.execute(
                delete(IndexedLeaf).where(
                    IndexedLeaf.contract == self.contract, IndexedLeaf.batch_id.in_(gone)
                )
            )
            s.execute(
                delete(IndexedBatch).where(
                    IndexedBatch.contract == self.contract,
                    IndexedBatch.block_number >= first_missing,
                )
            )
            s.execute(
                delete(IndexedSuccession).where(
                    IndexedSuccession.contract == self.contract,
                    IndexedSuccession.block_number >= first_missing,
                )
            )
            s.execute(
                delete(IndexedStatus).where(
                    IndexedStatus.contract == self.contract,
                    IndexedStatus.block_number >= first_missing,
                )
            )
            cp = s.get(IndexCheckpoint, self.contract)
            if cp is not None:
                cp.next_block = first_missing


class ChainIndex:
    """Read side of the index for one registry contract."""

    def __init__(self, sessions: sessionmaker[Session], contract: str) -> None:
        self.sessions = sessions
        self.contract = contract

    def find_leaf(self, leaf: bytes) -> LeafRecord | None:
        """The earliest batch that anchored ``leaf``, if any."""
        found = self._find(IndexedLeaf.leaf == leaf)
        return found[0] if found else None

    def find_by_key(self, key: bytes, agency: bytes | None = None) -> list[LeafRecord]:
        """Every anchored leaf with lookup key ``key`` (of ``agency`` only, when given), oldest
        first. A key belongs to the agency that signed the claims it hashes: leaves another
        agency anchored under it are noise a verifier must not follow."""
        if agency is None:
            return self._find(IndexedLeaf.key == key)
        return self._find((IndexedLeaf.key == key) & (IndexedBatch.agency == agency))

    def _find(self, condition: Any) -> list[LeafRecord]:
        with self.sessions() as s:
            rows = s.execute(
                select(IndexedLeaf, IndexedBatch)
                .join(
                    IndexedBatch,
                    (IndexedBatch.contract == IndexedLeaf.contract)
                    & (IndexedBatch.batch_id == IndexedLeaf.batch_id),
                )
                .where(IndexedLeaf.contract == self.contract, condition)
                .order_by(IndexedLeaf.batch_id)
            ).all()
        return [
            LeafRecord(
                leaf=lf.leaf,
                batch_id=b.batch_id,
                root=b.root,
                region=b.region,
                agency=b.agency,
                submitter=b.submitter,
                block_number=b.block_number,
                timestamp=b.timestamp,
                tx_hash=b.tx_hash,
                position=lf.position,
                key=lf.key,
            )
            for lf, b in rows
        ]

    def flagged_batches(self) -> list[tuple[int, str]]:
        """``(batch id, problem)`` of every batch whose leaves could not be recovered from its
        anchoring calldata (so none of its leaves is in the index)."""
        with self.sessions() as s:
            rows = s.execute(
                select(IndexedBatch.batch_id, IndexedBatch.problem)
                .where(IndexedBatch.contract == self.contract, IndexedBatch.problem.is_not(None))
                .order_by(IndexedBatch.batch_id)
            ).all()
        return [(int(i), str(p)) for i, p in rows]

    def batch_leaves(self, batch_id: int) -> list[bytes]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(IndexedLeaf.leaf)
                    .where(IndexedLeaf.contract == self.contract, IndexedLeaf.batch_id == batch_id)
                    .order_by(IndexedLeaf.position)
                )
            )

    def proof(self, record: LeafRecord) -> list[bytes]:
        """Merkle proof of an indexed leaf in its batch."""
        return merkle.proof(self.batch_leaves(record.batch_id), record.position)

    def _owner_region(self, leaf: bytes) -> int | None:
        """The region of the earliest batch that anchored ``leaf``: the only one whose status
        changes and version links count (the contract enforces it; the index holds to it too,
        so events of an older or misbehaving contract are ignored)."""
        first = self.find_leaf(leaf)
        return first.region if first else None

    def status_history(self, leaf: bytes) -> list[StatusRecord]:
        owner = self._owner_region(leaf)
        with self.sessions() as s:
            rows = s.scalars(
                select(IndexedStatus)
                .where(
                    IndexedStatus.contract == self.contract,
                    IndexedStatus.leaf == leaf,
                    IndexedStatus.region == owner,
                )
                .order_by(IndexedStatus.block_number, IndexedStatus.log_index)
            ).all()
        return [
            StatusRecord(LeafStatus(r.to_status), r.reason, r.timestamp, r.block_number, r.tx_hash)
            for r in rows
        ]

    def successor(self, leaf: bytes, timestamp: int | None = None) -> bytes | None:
        """The version that replaced ``leaf`` (as of ``timestamp``), if any."""
        owner = self._owner_region(leaf)
        if owner is None:
            return None
        with self.sessions() as s:
            row = s.get(IndexedSuccession, (self.contract, leaf, owner))
        if row is None or (timestamp is not None and row.timestamp > timestamp):
            return None
        return row.child

    def status_at(self, leaf: bytes, timestamp: int | None = None) -> StatusRecord | None:
        """The last status change of ``leaf`` at or before ``timestamp`` (None: now)."""
        last = None
        for rec in self.status_history(leaf):
            if timestamp is not None and rec.timestamp > timestamp:
                break
            last = rec
        return last
