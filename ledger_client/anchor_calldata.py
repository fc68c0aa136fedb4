"""Recovering a batch's keys and leaves from the calldata of the transaction that anchored it.

``BatchAnchored`` names a batch (id, root, region, agency, submitter, leaf count) but does not
repeat the keys and bodies: they are the arguments of the ``anchorBatch`` call, which every
node serves by ``eth_getTransactionByHash``. Carrying them once instead of twice is what keeps
an anchor near the cost of its calldata.

Anchors are direct calls from issuer accounts. Anything else (a call through another contract,
calldata that is not ``anchorBatch``, leaves that do not hash to the event's root) is never
trusted: the batch comes back with no leaves and a ``problem`` saying why, for the index to
flag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

from ledger_client import merkle
from ledger_client.errors import ChainUnavailableError
from ledger_client.hashing import keccak256
from ledger_client.types import BatchAnchored

ANCHOR_SELECTOR = function_signature_to_4byte_selector("anchorBatch(bytes16[],bytes32[])")

FetchTx = Callable[[str], Mapping[str, Any]]


def leaves_of(agency: bytes, keys: tuple[bytes, ...], bodies: tuple[bytes, ...]) -> list[bytes]:
    """Each document's leaf as the registry computes it (``merkle.leaf_of``; ``abi.encode`` of
    ``bytes32, bytes16, bytes32`` is their concatenation with the key padded to a word, spelled
    out here because replay hashes millions)."""
    pad = bytes(32 - merkle.KEY_BYTES)
    return [keccak256(keccak256(agency + k + pad + b)) for k, b in zip(keys, bodies, strict=True)]


def _problem(batch: BatchAnchored, registry: str, tx: Mapping[str, Any]) -> str | None:
    """Why the transaction cannot be read as a direct ``anchorBatch`` call, or None."""
    to = tx.get("to")
    if to is None or str(to).lower() != registry.lower():
        return f"transaction {batch.tx.tx_hash} is not a direct call to the registry"
    sender = tx.get("from")
    if sender is None or str(sender).lower() != batch.submitter.lower():
        return f"transaction {batch.tx.tx_hash} was not sent by the batch's submitter"
    if bytes(tx["input"])[:4] != ANCHOR_SELECTOR:
        return f"transaction {batch.tx.tx_hash} is not an anchorBatch call"
    return None


def _flag(batch: BatchAnchored, problem: str) -> BatchAnchored:
    return replace(batch, leaves=(), keys=(), problem=problem)


def recover(batch: BatchAnchored, registry: str, fetch: FetchTx) -> BatchAnchored:
    """``batch`` with its keys and leaves read from its transaction's calldata and checked
    against the root, or with ``problem`` set (and no leaves) when they cannot be."""
    try:
        tx = fetch(batch.tx.tx_hash)
    except ChainUnavailableError:
        # The node went away mid-sync: nothing is wrong with the batch, and flagging it would
        # leave its leaves unindexed for good (NOT_ANCHORED once the node is back). The sync
        # stops here without advancing its checkpoint, and the next one reads it again.
        raise
    except Exception as exc:
        return _flag(batch, f"transaction {batch.tx.tx_hash} unreadable ({exc})")
    problem = _problem(batch, registry, tx)
    if problem is not None:
        return _flag(batch, problem)
    try:
        keys, bodies = decode(["bytes16[]", "bytes32[]"], bytes(tx["input"])[4:])
    except Exception as exc:
        return _flag(batch, f"anchorBatch calldata undecodable ({exc})")
    keys, bodies = tuple(bytes(k) for k in keys), tuple(bytes(b) for b in bodies)
    if len(keys) != batch.leaf_count or len(bodies) != batch.leaf_count:
        count = f"calldata has {len(keys)} documents, the event {batch.leaf_count}"
        return _flag(batch, count)
    leaves = leaves_of(batch.agency, keys, bodies)
    if merkle.root(leaves) != batch.root:
        return _flag(batch, "leaves recomputed from the calldata miss the batch root")
    return replace(batch, leaves=tuple(leaves), keys=keys)
