"""Typed access to the ``LicenceRegistry`` contract: anchor, change status, read, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.types import TxReceipt

from ledger_client.artifacts import load_artifact
from ledger_client.errors import ChainUnavailableError, ContractRevertError, TransactionError
from ledger_client.reverts import revert_data
from ledger_client.transactions import SignedTx, TransactionSender

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


@dataclass(frozen=True)
class ChainEvents:
    """The registry's events in a block range, each list in chain order."""

    batches: list[BatchAnchored]
    statuses: list[StatusChanged]
    successions: list[Superseded]


class RegistryClient:
    """One deployed ``LicenceRegistry``; writes need a ``TransactionSender``."""

    def __init__(self, w3: Web3, address: str, sender: TransactionSender | None = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self._abi = load_artifact(REGISTRY).abi
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self._abi)
        self.sender = sender

    # ------------------------------------------------------------------ writes

    def _need_sender(self) -> TransactionSender:
        if self.sender is None:
            raise TransactionError("this registry client is read-only: it has no signing account")
        return self.sender

    def register_issuer(self, account: str, region: int) -> TxInfo:
        """Make ``account`` an issuer of ``region`` (caller needs REGISTRAR_ROLE)."""
        fn = self.contract.functions.registerIssuer(Web3.to_checksum_address(account), region)
        return self._tx_info(self._need_sender().transact(fn))

    def prepare_anchor(self, leaves: Sequence[bytes], keys: Sequence[bytes]) -> SignedTx:
        """A signed ``anchorBatch`` transaction, not yet broadcast.

        ``leaves`` ascending and unique; ``keys[i]`` is the lookup key of ``leaves[i]``.
        """
        fn = self.contract.functions.anchorBatch(list(leaves), list(keys))
        return self._need_sender().prepare(fn)

    def anchor(self, leaves: Sequence[bytes], keys: Sequence[bytes]) -> BatchAnchored:
        """Anchor ``leaves`` with their ``keys`` and wait for the batch event."""
        fn = self.contract.functions.anchorBatch(list(leaves), list(keys))
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
        receipt = self._need_sender().transact(fn)
        events = self._decode(receipt, "LeafStatusChanged")
        return self._status_event(events[0], self._tx_info(receipt))

    def supersede(self, parent: Member, child: Member, reason: int) -> Superseded:
        """Link ``parent`` to its successor ``child``; both must be the caller region's."""
        fn = self.contract.functions.supersede(parent.as_tuple(), child.as_tuple(), reason)
        receipt = self._need_sender().transact(fn)
        ev = self._decode(receipt, "LeafSuperseded")[0]
        return self._superseded_event(ev, self._tx_info(receipt))

    # ------------------------------------------------------------------ receipts & events

    def batch_from_receipt(self, receipt: TxReceipt) -> BatchAnchored:
        events = self._decode(receipt, "BatchAnchored")
        if not events:
            raise TransactionError("anchor transaction emitted no BatchAnchored event")
        return self._batch_event(events[0], self._tx_info(receipt))

    def _decode(self, receipt: TxReceipt, event: str) -> list[Any]:
        from web3.logs import DISCARD

        return list(getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD))

    def _tx_info(self, receipt: TxReceipt) -> TxInfo:
        block = self.w3.eth.get_block(receipt["blockNumber"])
        return TxInfo(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            timestamp=int(block["timestamp"]),
        )

    @staticmethod
    def _batch_event(ev: Any, tx: TxInfo) -> BatchAnchored:
        a = ev["args"]
        return BatchAnchored(
            batch_id=int(a["batchId"]),
            root=bytes(a["root"]),
            region=int(a["region"]),
            submitter=str(a["submitter"]),
            timestamp=int(a["timestamp"]),
            leaves=tuple(bytes(x) for x in a["leaves"]),
            keys=tuple(bytes(x) for x in a["keys"]),
            tx=tx,
            log_index=int(ev["logIndex"]),
        )

    @staticmethod
    def _status_event(ev: Any, tx: TxInfo) -> StatusChanged:
        a = ev["args"]
        return StatusChanged(
            leaf=bytes(a["leaf"]),
            batch_id=int(a["batchId"]),
            region=int(a["region"]),
            from_status=LeafStatus(a["from"]),
            to_status=LeafStatus(a["to"]),
            reason=int(a["reason"]),
            timestamp=int(a["timestamp"]),
            tx=tx,
            log_index=int(ev["logIndex"]),
        )

    @staticmethod
    def _superseded_event(ev: Any, tx: TxInfo) -> Superseded:
        a = ev["args"]
        return Superseded(
            leaf=bytes(a["leaf"]),
            child=bytes(a["child"]),
            region=int(a["region"]),
            timestamp=int(a["timestamp"]),
            tx=tx,
            log_index=int(ev["logIndex"]),
        )

    def events_in_range(self, from_block: int, to_block: int) -> ChainEvents:
        """The registry's events in ``[from_block, to_block]``, in chain order.

        Every event kind carries its block timestamp, so no block has to be fetched.
        """
        try:
            logs = self.w3.eth.get_logs(
                {"address": self.address, "fromBlock": from_block, "toBlock": to_block}
            )
        except Exception as exc:
            raise _read_error(exc, self.w3) from exc
        out = ChainEvents([], [], [])
        batch_topic = self._topic("BatchAnchored")
        status_topic = self._topic("LeafStatusChanged")
        succession_topic = self._topic("LeafSuperseded")
        for log in logs:
            topic = bytes(log["topics"][0])
            tx = TxInfo("0x" + bytes(log["transactionHash"]).hex(), int(log["blockNumber"]), 0)
            if topic == batch_topic:
                ev = self.contract.events.BatchAnchored().process_log(log)
                b = self._batch_event(ev, tx)
                out.batches.append(_with_time(b, b.timestamp))
            elif topic == status_topic:
                ev = self.contract.events.LeafStatusChanged().process_log(log)
                s = self._status_event(ev, tx)
                out.statuses.append(_with_time(s, s.timestamp))
            elif topic == succession_topic:
                ev = self.contract.events.LeafSuperseded().process_log(log)
                u = self._superseded_event(ev, tx)
                out.successions.append(_with_time(u, u.timestamp))
        return out

    def _topic(self, event: str) -> bytes:
        item = next(i for i in self._abi if i.get("type") == "event" and i["name"] == event)
        types = ",".join(i["type"] for i in item["inputs"])
        return bytes(Web3.keccak(text=f"{event}({types})"))

    # ------------------------------------------------------------------ reads

    def _call(self, fn: ContractFunction) -> Any:
        try:
            return fn.call()
        except Exception as exc:
            raise _read_error(exc, self.w3) from exc

    def batch_count(self) -> int:
        return int(self._call(self.contract.functions.batchCount()))

    def batch(self, batch_id: int) -> BatchInfo:
        b = self._call(self.contract.functions.getBatch(batch_id))
        return BatchInfo(
            batch_id, bytes(b[0]), int(b[1]), str(b[2]), int(b[3]), int(b[4]), int(b[5])
        )

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

    def issuer_region(self, account: str) -> int:
        fn = self.contract.functions.issuerRegion(Web3.to_checksum_address(account))
        return int(self._call(fn))


def _with_time(event: Any, timestamp: int) -> Any:
    from dataclasses import replace

    return replace(event, tx=replace(event.tx, timestamp=timestamp))


def _read_error(exc: BaseException, w3: Web3) -> Exception:
    data = revert_data(exc)
    if data is not None:
        from ledger_client.reverts import RevertDecoder

        return RevertDecoder([load_artifact(REGISTRY).abi]).decode(data)
    if isinstance(exc, ContractRevertError | ChainUnavailableError):
        return exc
    return ChainUnavailableError(f"reading the chain failed ({type(exc).__name__}: {exc})")
