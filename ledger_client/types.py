"""What the registry's state and events look like in Python: plain values, no chain access.

Kept apart from the clients so that decoders, the index and the verifier can use them without
importing any client (and no module imports another in a circle).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class LeafStatus(IntEnum):
    """Mirror of ``LicenceRegistry.Status``."""

    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2
    CANCELLED = 3
    REPORTED_LOST = 4
    SUPERSEDED = 5


@dataclass(frozen=True)
class BatchInfo:
    """What the registry stores of a batch (one slot); its event adds agency and submitter."""

    batch_id: int
    root: bytes
    region: int
    block_number: int
    timestamp: int
    leaf_count: int


@dataclass(frozen=True)
class LeafState:
    status: LeafStatus
    reason: int
    since: int
    block_number: int


@dataclass(frozen=True)
class TxInfo:
    """Where a transaction landed."""

    tx_hash: str
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class BatchAnchored:
    batch_id: int
    root: bytes
    region: int
    agency: bytes  # keccak256 of the anchoring agency's code: every leaf was computed with it
    submitter: str
    timestamp: int
    leaves: tuple[bytes, ...]  # recomputed from the anchoring calldata; empty when flagged
    keys: tuple[bytes, ...]
    tx: TxInfo
    log_index: int
    leaf_count: int = 0  # as the event announces it
    problem: str | None = None  # why the leaves could not be recovered (never trusted then)


@dataclass(frozen=True)
class StatusChanged:
    leaf: bytes
    batch_id: int
    region: int
    from_status: LeafStatus
    to_status: LeafStatus
    reason: int
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class Superseded:
    leaf: bytes
    child: bytes
    region: int
    timestamp: int
    tx: TxInfo
    log_index: int


@dataclass(frozen=True)
class Member:
    """A leaf with the batch that anchored it and its Merkle proof there."""

    leaf: bytes
    batch_id: int
    proof: tuple[bytes, ...]

    def as_tuple(self) -> tuple[bytes, int, list[bytes]]:
        return (self.leaf, self.batch_id, list(self.proof))
