"""A licence history rebuilt from the chain alone: every batch, leaf, status change, version
link and directory change, each with its block, time and transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger_client.events import ChainEvents, DirectoryChange, scan
from ledger_client.registry import LeafStatus, RegistryClient


@dataclass(slots=True)
class StatusEvent:
    status: LeafStatus
    reason: int
    time: int
    block: int
    tx: str


@dataclass(slots=True)
class LeafLife:
    """Everything the chain says about one leaf."""

    key: bytes
    batch_id: int
    region: int
    block: int
    time: int
    tx: str
    statuses: list[StatusEvent] = field(default_factory=list)
    child: bytes | None = None
    child_time: int | None = None
    parent: bytes | None = None

    def status_at(self, time: int | None = None) -> LeafStatus:
        current = LeafStatus.ACTIVE
        for event in self.statuses:
            if time is not None and event.time > time:
                break
            current = event.status
        return current


@dataclass(slots=True)
class BatchFacts:
    root: bytes
    region: int
    submitter: str
    block: int
    time: int
    tx: str
    size: int


@dataclass
class ChainHistory:
    leaves: dict[bytes, LeafLife] = field(default_factory=dict)
    batches: dict[int, BatchFacts] = field(default_factory=dict)
    directory: list[DirectoryChange] = field(default_factory=list)
    events: int = 0
    from_block: int = 0
    to_block: int = 0
    orphan_events: int = 0  # status/link events whose leaf was anchored before from_block

    def add(self, events: ChainEvents, region: int | None = None) -> None:
        self.events += events.licence_events
        for b in events.batches:
            if region is not None and b.region != region:
                continue
            self.batches[b.batch_id] = BatchFacts(
                b.root,
                b.region,
                b.submitter,
                b.tx.block_number,
                b.timestamp,
                b.tx.tx_hash,
                len(b.leaves),
            )
            for leaf, key in zip(b.leaves, b.keys, strict=True):
                life = LeafLife(
                    key, b.batch_id, b.region, b.tx.block_number, b.timestamp, b.tx.tx_hash
                )
                self.leaves.setdefault(leaf, life)
        for st in events.statuses:
            known = self.leaves.get(st.leaf)
            if known is None:
                self.orphan_events += region is None or st.region == region
                continue
            known.statuses.append(
                StatusEvent(
                    st.to_status, st.reason, st.timestamp, st.tx.block_number, st.tx.tx_hash
                )
            )
        for su in events.successions:
            parent, child = self.leaves.get(su.leaf), self.leaves.get(su.child)
            if parent is None or child is None:
                self.orphan_events += region is None or su.region == region
                continue
            parent.child, parent.child_time = su.child, su.timestamp
            child.parent = su.leaf
        self.directory.extend(d for d in events.directory if region is None or d.region == region)


def read_history(
    registry: RegistryClient,
    from_block: int = 0,
    to_block: int | None = None,
    region: int | None = None,
    max_range: int = 2_000,
    progress: Callable[[int, int, int], None] | None = None,
) -> ChainHistory:
    """Read the registry's whole history (or a block range) straight from the node."""
    head = int(registry.w3.eth.block_number) if to_block is None else to_block
    history = ChainHistory(from_block=from_block, to_block=head)
    for _, end, events in scan(registry.events_in_range, from_block, head, max_range):
        history.add(events, region)
        if progress:
            progress(end, head, history.events)
    return history
