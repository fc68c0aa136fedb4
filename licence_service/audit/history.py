"""A licence history rebuilt from the chain alone: every batch, leaf, status change, version
link and directory change, each with its block, time and transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger_client.directory import AccountChange, DirectoryClient, DirectoryEvents
from ledger_client.events import ChainEvents, scan
from ledger_client.registry import LeafStatus, RegistryClient
from ledger_client.sharing import SharingClient, SharingEvents


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
    directory: list[AccountChange] = field(default_factory=list)  # who could anchor, when
    events: int = 0
    from_block: int = 0
    to_block: int = 0
    orphan_events: int = 0  # status/link events whose leaf was anchored before from_block
    governance: list[dict[str, Any]] = field(default_factory=list)  # directory events
    sharing: list[dict[str, Any]] = field(default_factory=list)  # consents and releases
    shares_by_leaf: dict[bytes, list[dict[str, Any]]] = field(default_factory=dict)

    def add_directory(self, events: DirectoryEvents) -> None:
        self.directory.extend(events.accounts)
        rows: list[tuple[int, int, dict[str, Any]]] = []
        for p in events.proposals:
            rows.append(
                (
                    p.tx.block_number,
                    p.log_index,
                    {
                        "event": "proposal",
                        "id": p.proposal_id,
                        "action": p.action.name,
                        "region": p.region,
                        "by_region": p.proposer_region,
                        "time": p.timestamp,
                        "tx": p.tx.tx_hash,
                    },
                )
            )
        for a in events.approvals:
            rows.append(
                (
                    a.tx.block_number,
                    a.log_index,
                    {
                        "event": "approval",
                        "id": a.proposal_id,
                        "region": a.region,
                        "time": a.timestamp,
                        "tx": a.tx.tx_hash,
                    },
                )
            )
        for e in events.executions:
            rows.append(
                (
                    e.tx.block_number,
                    e.log_index,
                    {
                        "event": "executed",
                        "id": e.proposal_id,
                        "action": e.action.name,
                        "region": e.region,
                        "time": e.timestamp,
                        "tx": e.tx.tx_hash,
                    },
                )
            )
        for r in events.regions:
            rows.append(
                (
                    r.tx.block_number,
                    r.log_index,
                    {
                        "event": "region added" if r.added else "region removed",
                        "region": r.region,
                        "name": r.name,
                        "time": r.timestamp,
                        "tx": r.tx.tx_hash,
                    },
                )
            )
        for c in events.certificates:
            rows.append(
                (
                    c.tx.block_number,
                    c.log_index,
                    {
                        "event": "certificate added",
                        "region": c.region,
                        "agency": c.agency_code,
                        "fingerprint": c.fingerprint.hex(),
                        "time": c.timestamp,
                        "tx": c.tx.tx_hash,
                    },
                )
            )
        for k in events.compromises:
            rows.append(
                (
                    k.tx.block_number,
                    k.log_index,
                    {
                        "event": "key compromised",
                        "region": k.region,
                        "fingerprint": k.fingerprint.hex(),
                        "since": k.since,
                        "time": k.timestamp,
                        "tx": k.tx.tx_hash,
                    },
                )
            )
        self.governance += [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]

    def add_sharing(self, events: SharingEvents, region: int | None = None) -> None:
        for c in events.consents:
            if region is None or c.grantor_region == region:
                self.sharing.append(
                    {
                        "event": "consent",
                        "consent": c.consent_hash.hex(),
                        "leaf": c.leaf.hex(),
                        "from_region": c.grantor_region,
                        "to_region": c.grantee_region,
                        "time": c.timestamp,
                        "tx": c.tx.tx_hash,
                    }
                )
        for w in events.withdrawals:
            if region is None or w.grantor_region == region:
                self.sharing.append(
                    {
                        "event": "withdrawal",
                        "consent": w.consent_hash.hex(),
                        "time": w.timestamp,
                        "tx": w.tx.tx_hash,
                    }
                )
        for r in events.releases:
            if region is not None and r.from_region != region:
                continue
            row = {
                "event": "release",
                "receipt": r.receipt_hash.hex(),
                "leaf": r.leaf.hex(),
                "from_region": r.from_region,
                "to_region": r.to_region,
                "consent": r.consent_hash.hex(),
                "time": r.timestamp,
                "tx": r.tx.tx_hash,
            }
            self.sharing.append(row)
            self.shares_by_leaf.setdefault(r.leaf, []).append(row)
        for q in events.requests:  # a release's use count rides on the release above
            if q.step == "used" or (region is not None and q.holder_region != region):
                continue
            step = {
                "event": f"request {q.step}",
                "request": q.request_hash.hex(),
                "from_region": q.holder_region,
                "time": q.timestamp,
                "tx": q.tx.tx_hash,
            }
            if q.step == "requested":
                step |= {"leaf": q.leaf.hex(), "to_region": q.requester_region}
            self.sharing.append(step)  # fmt: skip

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
            if known is None or known.region != st.region:
                # Only the region that first anchored a leaf changes its status; an event of
                # any other region (possible on an older contract) is not part of its life.
                self.orphan_events += region is None or st.region == region
                continue
            known.statuses.append(
                StatusEvent(
                    st.to_status, st.reason, st.timestamp, st.tx.block_number, st.tx.tx_hash
                )
            )
        for su in events.successions:
            parent, child = self.leaves.get(su.leaf), self.leaves.get(su.child)
            if parent is None or child is None or parent.region != su.region:
                self.orphan_events += region is None or su.region == region
                continue
            parent.child, parent.child_time = su.child, su.timestamp
            child.parent = su.leaf


def read_history(
    registry: RegistryClient,
    from_block: int = 0,
    to_block: int | None = None,
    region: int | None = None,
    max_range: int = 2_000,
    progress: Callable[[int, int, int], None] | None = None,
    directory: DirectoryClient | None = None,
    sharing: SharingClient | None = None,
) -> ChainHistory:
    """Read the whole history (or a block range) straight from the node: the registry's
    licence events, and the directory's and sharing ledger's when given."""
    head = int(registry.w3.eth.block_number) if to_block is None else to_block
    history = ChainHistory(from_block=from_block, to_block=head)
    for _, end, events in scan(registry.events_in_range, from_block, head, max_range):
        history.add(events, region)
        if progress:
            progress(end, head, history.events)
    if directory is not None:
        for _, _, d in scan(directory.events_in_range, from_block, head, max_range):
            history.add_directory(d)
    if sharing is not None:
        for _, _, sh in scan(sharing.events_in_range, from_block, head, max_range):
            history.add_sharing(sh, region)
    return history
