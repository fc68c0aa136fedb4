"""Typed access to the ``LicenceRegistry`` contract: anchor, change status, read, events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from web3 import Web3
from web3.types import TxReceipt

if TYPE_CHECKING:
    from ledger_client.events import ChainEvents

from ledger_client.contract import ContractClient
from ledger_client.errors import TransactionError
from ledger_client.transactions import SignedTx

REGISTRY = "LicenceRegistry"


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
    batch_id: int
    root: bytes
    region: int
    agency: bytes  # keccak256 of the anchoring agency's code
    submitter: str
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
    leaves: tuple[bytes, ...]
    keys: tuple[bytes, ...]
    tx: TxInfo
    log_index: int


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


class RegistryClient(ContractClient["ChainEvents"]):
    """One deployed ``LicenceRegistry``; writes need a ``TransactionSender``."""

    artifact = REGISTRY

    # ------------------------------------------------------------------ writes

    def prepare_anchor(self, keys: Sequence[bytes], bodies: Sequence[bytes]) -> SignedTx:
        """A signed ``anchorBatch`` transaction, not yet broadcast.

        The contract computes each leaf from the sender's agency, ``keys[i]`` and
        ``bodies[i]`` (``merkle.leaf_of``); the documents must be in ascending leaf order.
        """
        fn = self.contract.functions.anchorBatch(list(keys), list(bodies))
        return self._need_sender().prepare(fn)

    def anchor(self, keys: Sequence[bytes], bodies: Sequence[bytes]) -> BatchAnchored:
        """Anchor documents by ``keys`` and ``bodies`` and wait for the batch event."""
        fn = self.contract.functions.anchorBatch(list(keys), list(bodies))
        return self.batch_from_receipt(self._need_sender().transact(fn))

    def change_status(
        self,
        leaf: bytes,
        batch_id: int,
        proof: Sequence[bytes],
        to: LeafStatus,
        reason: int,
    ) -> StatusChanged:
        """Move ``leaf`` to ``to``; the chain refuses unless the caller's region anchored it."""
        fn = self.contract.functions.changeStatus(leaf, batch_id, list(proof), int(to), reason)
        return self._transact(fn).statuses[0]

    def supersede(self, parent: Member, child: Member, reason: int) -> Superseded:
        """Link ``parent`` to its successor ``child``; both must be the caller region's."""
        fn = self.contract.functions.supersede(parent.as_tuple(), child.as_tuple(), reason)
        return self._transact(fn).successions[0]

    # ------------------------------------------------------------------ receipts & events

    def batch_from_receipt(self, receipt: TxReceipt) -> BatchAnchored:
        batches = self._events(receipt).batches
        if not batches:
            raise TransactionError("anchor transaction emitted no BatchAnchored event")
        return batches[0]

    def _decode(self, logs: Iterable[Any]) -> ChainEvents:
        # Every licence event carries its block timestamp, so no block has to be fetched.
        from ledger_client.events import decode_logs

        return decode_logs(logs)

    # ------------------------------------------------------------------ reads

    def batch_count(self) -> int:
        return int(self._call(self.contract.functions.batchCount()))

    def batch(self, batch_id: int) -> BatchInfo:
        b = self._call(self.contract.functions.getBatch(batch_id))
        return BatchInfo(
            batch_id, bytes(b[0]), int(b[1]), bytes(b[2]), str(b[3]), int(b[4]), int(b[5]),
            int(b[6]),
        )  # fmt: skip

    def batch_id_of_root(self, root: bytes) -> int:
        return int(self._call(self.contract.functions.batchIdOfRoot(root)))

    def leaf_status(self, leaf: bytes) -> LeafState:
        s = self._call(self.contract.functions.leafStatus(leaf))
        return LeafState(LeafStatus(s[0]), int(s[1]), int(s[2]), int(s[3]))

    def successor_of(self, leaf: bytes) -> bytes | None:
        child = bytes(self._call(self.contract.functions.successorOf(leaf)))
        return None if child == bytes(32) else child

    def is_anchored(self, leaf: bytes, batch_id: int, proof: Sequence[bytes]) -> bool:
        return bool(self._call(self.contract.functions.isAnchored(leaf, batch_id, list(proof))))

    def issuer_of(self, account: str) -> tuple[int, bytes]:
        """The region and agency id the directory names for ``account`` (region 0: none)."""
        fn = self.contract.functions.issuerOf(Web3.to_checksum_address(account))
        region, agency = self._call(fn)
        return int(region), bytes(agency)

    def directory_address(self) -> str:
        return str(self._call(self.contract.functions.directory()))
