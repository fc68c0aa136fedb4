"""A local index of the registry's events, built from the chain alone.

Every verifier and auditor reads this index instead of scanning the chain. It is filled by
``ChainIndexer.sync`` in bounded block ranges; each range is stored together with the
checkpoint and its last block's hash in one database transaction, so a crash between ranges
loses nothing and reading a range twice changes nothing; a reorganisation of recent blocks is
noticed by that hash, and what was read from orphaned blocks is read again (``index_reorg``).
With ``confirmations`` N the read side counts a batch only once N blocks are on top of its
own; until then a verifier finds it ``unconfirmed`` (PENDING). N = 0: immediate finality.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledger_client import index_reorg, merkle
from ledger_client.errors import ChainUnavailableError
from ledger_client.events import ChainEvents, scan
from ledger_client.index_tables import (
    IndexBase,
    IndexCheckpoint,
    IndexedBatch,
    IndexedLeaf,
    IndexedStatus,
    IndexedSuccession,
)
from ledger_client.registry import LeafStatus, RegistryClient

__all__ = [
    "ChainIndex",
    "ChainIndexer",
    "IndexBase",
    "IndexCheckpoint",
    "IndexedBatch",
    "IndexedLeaf",
    "IndexedStatus",
    "IndexedSuccession",
    "LeafRecord",
    "StatusRecord",
    "SyncResult",
]

log = logging.getLogger(__name__)


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
        with self.sessions() as s:
            fork = index_reorg.fork_point(s, self.contract, self._block_hash, self.start_block)
        if fork is not None and fork < start:
            log.warning("the chain reorganised blocks from %s on (index checkpoint %s): "
                        "reading them again", fork, start)  # fmt: skip
            self._rewind(fork)
            start = fork
        first, batches, statuses = start, 0, 0
        fetch = index_reorg.HashedFetch(self.registry.events_in_range, self._block_hash)
        try:
            for _, end, (events, end_hash) in scan(fetch, start, head, self.max_range):
                try:
                    self._store(events, end + 1, end_hash)
                except IntegrityError:
                    # Another process stored part of it meanwhile: storing again skips it.
                    self._store(events, end + 1, end_hash)
                batches += len(events.batches)
                statuses += len(events.statuses)
                if progress:
                    progress(end, head)
        except index_reorg.ChainMoved as exc:  # the next sync finds the fork and reads again
            log.warning("%s; the index stops at block %s for now", exc, self.checkpoint() - 1)
        return SyncResult(first, head, batches, statuses)

    def _block_hash(self, number: int) -> bytes | None:
        return index_reorg.block_hash(self.registry.w3, number)

    def tip(self) -> tuple[int, bytes | None]:
        """The checkpoint and the indexed hash of the block before it: what the index holds."""
        with self.sessions() as s:
            cp = s.get(IndexCheckpoint, self.contract)
            nxt = cp.next_block if cp else self.start_block
            return nxt, index_reorg.tip_hash(s, self.contract, nxt)

    def _store(self, events: ChainEvents, nxt: int, end_hash: bytes | None = None) -> None:
        with self.sessions.begin() as s:
            if end_hash is not None:
                index_reorg.remember(s, self.contract, nxt - 1, end_hash)
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
            index_reorg.forget(s, self.contract, first_missing)
            cp = s.get(IndexCheckpoint, self.contract)
            if cp is not None:
                cp.next_block = first_missing


class ChainIndex:
    """Read side of the index for one registry contract."""

    def __init__(
        self, sessions: sessionmaker[Session], contract: str, confirmations: int = 0
    ) -> None:
        self.sessions = sessions
        self.contract = contract
        self.confirmations = confirmations

    def final_block(self) -> int | None:
        """The newest block whose batches count as anchored (``confirmations`` blocks below the
        newest block indexed), or None when every indexed block counts (no confirmations)."""
        if self.confirmations <= 0:
            return None
        with self.sessions() as s:
            cp = s.get(IndexCheckpoint, self.contract)
        return (cp.next_block if cp else 0) - 1 - self.confirmations

    def find_leaf(self, leaf: bytes) -> LeafRecord | None:
        """The earliest batch that anchored ``leaf`` in a final block, if any."""
        found = self._find(IndexedLeaf.leaf == leaf)
        return found[0] if found else None

    def unconfirmed(self, key: bytes, agency: bytes) -> LeafRecord | None:
        """A leaf of ``agency`` under ``key`` anchored in a block that has not yet
        ``confirmations`` blocks on top of it (so it does not count yet), if any."""
        final = self.final_block()
        if final is None:
            return None
        found = self._find(
            (IndexedLeaf.key == key) & (IndexedBatch.agency == agency), final_only=False
        )
        return next((r for r in found if r.block_number > final), None)

    def find_by_key(self, key: bytes, agency: bytes | None = None) -> list[LeafRecord]:
        """Every anchored leaf with lookup key ``key`` (of ``agency`` only, when given), oldest
        first. A key belongs to the agency that signed the claims it hashes: leaves another
        agency anchored under it are noise a verifier must not follow."""
        if agency is None:
            return self._find(IndexedLeaf.key == key)
        return self._find((IndexedLeaf.key == key) & (IndexedBatch.agency == agency))

    def _find(self, condition: Any, final_only: bool = True) -> list[LeafRecord]:
        final = self.final_block() if final_only else None
        if final is not None:
            condition = condition & (IndexedBatch.block_number <= final)
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
