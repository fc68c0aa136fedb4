"""Noticing a reorganisation of recent blocks under the chain index.

A chain whose engine can replace recent blocks (Clique, any proof-of-work or longest-chain
rule; also a node healed after a network partition) may give the index's last blocks other
hashes, at the same height, without its head ever going back: comparing heights does not see
it. So the index keeps the hash of the last block of each range it stored (``chain_block``,
the newest ``KEEP_BLOCKS``), and every sync compares the newest with the chain's first (one
``eth_getBlockByNumber``). On a difference it walks back through the kept hashes to the newest
one the chain still has; everything indexed after that block is forgotten and read again. A
block hash commits to all its ancestors, so a block that matches vouches for everything
before it.

A range is stored only when its last block kept its hash while its events were read
(``HashedFetch``): events read across a reorganisation are never stored as the new chain's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import BlockNotFound

from ledger_client.errors import ChainUnavailableError
from ledger_client.index_tables import IndexedBlock

KEEP_BLOCKS = 64
"""Block hashes kept per contract: the deepest reorganisation found without reading the
whole index again (a deeper one is still found: the index is then read again from its start)."""

E = TypeVar("E")


class ChainMoved(Exception):
    """The chain replaced a block while the events of its range were being read."""


def block_hash(w3: Web3, number: int) -> bytes | None:
    """The hash of block ``number`` on the node's chain now, or None when it has no such block."""
    try:
        return bytes(w3.eth.get_block(number)["hash"])
    except BlockNotFound:
        return None
    except Exception as exc:
        raise ChainUnavailableError(f"cannot read block {number} ({exc})") from exc


class HashedFetch:
    """``fetch(first, last)`` that also returns the hash of block ``last``, read before and
    after the events: when they differ (or the block is gone) it raises ``ChainMoved``."""

    def __init__(
        self, fetch: Callable[[int, int], E], hash_of: Callable[[int], bytes | None]
    ) -> None:
        self.fetch = fetch
        self.hash_of = hash_of

    def __call__(self, first: int, last: int) -> tuple[Any, bytes]:
        before = self.hash_of(last)
        events = self.fetch(first, last)
        after = self.hash_of(last)
        if before is None or before != after:
            raise ChainMoved(f"block {last} changed while its range was read")
        return events, after


def fork_point(
    s: Session, contract: str, hash_of: Callable[[int], bytes | None], start_block: int
) -> int | None:
    """The first block to read again, or None when the newest kept block is still the
    chain's. When no kept block is (a reorganisation deeper than ``KEEP_BLOCKS`` ranges),
    ``start_block``: everything is read again."""
    rows = s.execute(
        select(IndexedBlock.block_number, IndexedBlock.block_hash)
        .where(IndexedBlock.contract == contract)
        .order_by(IndexedBlock.block_number.desc())
    ).all()
    for i, (number, stored) in enumerate(rows):
        if hash_of(int(number)) == bytes(stored):
            return None if i == 0 else int(number) + 1
    return start_block if rows else None


def remember(s: Session, contract: str, number: int, hash_: bytes) -> None:
    """Keep the hash of block ``number`` (the end of a stored range); drop the oldest beyond
    ``KEEP_BLOCKS``."""
    row = s.get(IndexedBlock, (contract, number))
    if row is None:
        s.add(IndexedBlock(contract=contract, block_number=number, block_hash=hash_))
    else:
        row.block_hash = hash_
    s.flush()
    cutoff = s.scalar(
        select(IndexedBlock.block_number)
        .where(IndexedBlock.contract == contract)
        .order_by(IndexedBlock.block_number.desc())
        .offset(KEEP_BLOCKS)
        .limit(1)
    )
    if cutoff is not None:
        s.execute(
            delete(IndexedBlock).where(
                IndexedBlock.contract == contract, IndexedBlock.block_number <= cutoff
            )
        )


def forget(s: Session, contract: str, first_missing: int) -> None:
    """Drop the kept hashes of blocks from ``first_missing`` on (the index rewinds there)."""
    s.execute(
        delete(IndexedBlock).where(
            IndexedBlock.contract == contract, IndexedBlock.block_number >= first_missing
        )
    )


def tip_hash(s: Session, contract: str, next_block: int) -> bytes | None:
    """The kept hash of the block just before the checkpoint ``next_block``, if any."""
    row = s.get(IndexedBlock, (contract, next_block - 1))
    return bytes(row.block_hash) if row else None
