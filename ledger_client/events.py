"""Fast decoding of the registry's raw logs (one ``eth_getLogs`` call per block range).

web3's per-log event processing is general and slow; an auditor replaying a long history
decodes hundreds of thousands of leaves, so the few event layouts of ``LicenceRegistry`` are
decoded here directly with ``eth_abi``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ledger_client.errors import LedgerError
from ledger_client.types import (
    BatchAnchored,
    LeafStatus,
    StatusChanged,
    Superseded,
    TxInfo,
)


def _topic(signature: str) -> bytes:
    return keccak(text=signature)


BATCH_ANCHORED = _topic("BatchAnchored(uint256,bytes32,uint32,bytes32,address,uint32,uint64)")
STATUS_CHANGED = _topic("LeafStatusChanged(bytes32,uint256,uint32,uint8,uint8,uint16,uint64)")
SUPERSEDED = _topic("LeafSuperseded(bytes32,bytes32,uint32,uint64)")


@dataclass
class ChainEvents:
    """The registry's events in a block range, each list in chain order."""

    batches: list[BatchAnchored] = field(default_factory=list)
    statuses: list[StatusChanged] = field(default_factory=list)
    successions: list[Superseded] = field(default_factory=list)

    @property
    def licence_events(self) -> int:
        """Leaves anchored plus status changes plus version links."""
        anchored = sum(b.leaf_count for b in self.batches)
        return anchored + len(self.statuses) + len(self.successions)


def _int(topic: bytes) -> int:
    return int.from_bytes(topic, "big")


def _tx(log: Mapping[str, Any], timestamp: int = 0) -> TxInfo:
    return TxInfo("0x" + bytes(log["transactionHash"]).hex(), int(log["blockNumber"]), timestamp)


def decode_logs(logs: Iterable[Mapping[str, Any]]) -> ChainEvents:
    """Decode raw logs of the registry; logs of other events are ignored.

    Batches come without their leaves and keys (``leaves == ()``): those are in the anchoring
    transaction's calldata, which ``anchor_calldata.recover`` reads.
    """
    out = ChainEvents()
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        data = bytes(log["data"])
        kind = topics[0]
        index = int(log["logIndex"])
        if kind == BATCH_ANCHORED:
            agency, submitter, count, ts = decode(["bytes32", "address", "uint32", "uint64"], data)
            out.batches.append(
                BatchAnchored(
                    batch_id=_int(topics[1]), root=topics[2], region=_int(topics[3]),
                    agency=bytes(agency), submitter=to_checksum_address(submitter),
                    timestamp=int(ts), leaves=(), keys=(), tx=_tx(log, int(ts)),
                    log_index=index, leaf_count=int(count),
                )
            )  # fmt: skip
        elif kind == STATUS_CHANGED:
            frm, to, reason, ts = decode(["uint8", "uint8", "uint16", "uint64"], data)
            out.statuses.append(
                StatusChanged(
                    leaf=topics[1], batch_id=_int(topics[2]), region=_int(topics[3]),
                    from_status=LeafStatus(frm), to_status=LeafStatus(to), reason=int(reason),
                    timestamp=int(ts), tx=_tx(log, int(ts)), log_index=index,
                )
            )  # fmt: skip
        elif kind == SUPERSEDED:
            (ts,) = decode(["uint64"], data)
            out.successions.append(
                Superseded(
                    leaf=topics[1], child=topics[2], region=_int(topics[3]), timestamp=int(ts),
                    tx=_tx(log, int(ts)), log_index=index,
                )
            )  # fmt: skip
    return out


def _too_wide(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("range", "too many", "limit", "exceed", "too large"))


E = TypeVar("E")


def scan(
    fetch: Callable[[int, int], E],
    from_block: int,
    to_block: int,
    max_range: int = 2_000,
) -> Iterator[tuple[int, int, E]]:
    """Events in bounded block ranges, ``(first, last, events)`` per range.

    A node that refuses a range as too wide gets half of it, down to one block.
    """
    start, step = from_block, max(1, max_range)
    while start <= to_block:
        end = min(to_block, start + step - 1)
        try:
            events = fetch(start, end)
        except LedgerError as exc:
            if end > start and _too_wide(exc):
                step = max(1, (end - start + 1) // 2)
                continue
            raise
        yield start, end, events
        start = end + 1
