"""Typed access to the ``LicenceRegistry`` contract: anchor, change status, read, events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from ledger_client import anchor_calldata
from ledger_client.artifacts import REGISTRY
from ledger_client.contract import ContractClient, read_error
from ledger_client.errors import ContractRevertError, TransactionError
from ledger_client.events import BATCH_ANCHORED, ChainEvents, decode_logs
from ledger_client.transactions import SignedTx
from ledger_client.types import (
    BatchAnchored,
    BatchInfo,
    LeafState,
    LeafStatus,
    Member,
    StatusChanged,
    Superseded,
    TxInfo,
)

__all__ = [
    "REGISTRY",
    "BatchAnchored",
    "BatchInfo",
    "LeafState",
    "LeafStatus",
    "Member",
    "RegistryClient",
    "StatusChanged",
    "Superseded",
    "TxInfo",
]


class RegistryClient(ContractClient[ChainEvents]):
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
        # Every licence event carries its block timestamp, so no block has to be fetched; a
        # batch's keys and leaves are read back from its transaction's calldata.
        events = decode_logs(logs)
        events.batches = [
            anchor_calldata.recover(b, self.address, self._transaction) for b in events.batches
        ]
        return events

    def _transaction(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except Exception as exc:
            raise read_error(exc) from exc

    # ------------------------------------------------------------------ reads

    def batch_count(self) -> int:
        return int(self._call(self.contract.functions.batchCount()))

    def batch(self, batch_id: int) -> BatchInfo:
        """Batch ``batch_id`` as its ``BatchAnchored`` event announced it (the registry keeps
        batches by root, not by id: one storage slot per batch). ``UnknownBatch`` if none."""
        try:
            logs = self.w3.eth.get_logs(
                {
                    "address": self.address,
                    "fromBlock": 0,
                    "toBlock": "latest",
                    "topics": [
                        "0x" + BATCH_ANCHORED.hex(),
                        "0x" + batch_id.to_bytes(32, "big").hex(),
                    ],
                }
            )
        except Exception as exc:
            raise read_error(exc) from exc
        found = decode_logs(logs).batches
        if not found:
            raise ContractRevertError("UnknownBatch", {"batchId": batch_id})
        b = found[0]
        return BatchInfo(
            batch_id=b.batch_id, root=b.root, region=b.region, block_number=b.tx.block_number,
            timestamp=b.timestamp, leaf_count=b.leaf_count,
        )  # fmt: skip

    def batch_of_root(self, root: bytes) -> BatchInfo:
        """What the registry stores of the batch with Merkle root ``root`` (``UnknownRoot``
        when none has it); the agency and submitter are in the batch's event."""
        b = self._call(self.contract.functions.batchOfRoot(root))
        return BatchInfo(
            batch_id=int(b[1]), root=bytes(b[0]), region=int(b[2]), leaf_count=int(b[3]),
            block_number=int(b[4]), timestamp=int(b[5]),
        )  # fmt: skip

    def anchoring_transaction(self, batch_id: int, block_number: int) -> str | None:
        """The hash of the transaction that anchored ``batch_id`` in ``block_number`` (from
        ``batch_of_root``), or None if the node lost it. Asked of that one block only."""
        logs = self.w3.eth.get_logs(
            {
                "address": self.address,
                "fromBlock": block_number,
                "toBlock": block_number,
                "topics": ["0x" + BATCH_ANCHORED.hex(), "0x" + batch_id.to_bytes(32, "big").hex()],
            }
        )
        return "0x" + bytes(logs[0]["transactionHash"]).hex() if logs else None

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
