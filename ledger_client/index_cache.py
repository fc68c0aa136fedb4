"""The chain index's read side held in memory, for a server answering many verifications.

Every answer is the one ``ChainIndex`` gives from the database; it is kept until the index
moves on. The index only changes when a sync stores events, and a sync that stores events
moves the checkpoint, so the checkpoint is the generation of everything remembered here: the
owner of ``refresh`` passes the current checkpoint and a new one forgets everything.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ledger_client import merkle
from ledger_client.index import ChainIndex, LeafRecord, StatusRecord

# One entry per leaf, key or batch asked about; a server that was asked about more distinct
# licences than this between two index changes starts again from the database.
MAX_ENTRIES = 200_000


class CachedChainIndex(ChainIndex):
    """``ChainIndex`` answers, remembered for one index generation (its checkpoint)."""

    def __init__(
        self, sessions: sessionmaker[Session], contract: str, confirmations: int = 0
    ) -> None:
        super().__init__(sessions, contract, confirmations)
        self.generation: object = None
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def refresh(self, generation: object) -> bool:
        """Forget everything when the index moved to ``generation``; True when it did."""
        with self._lock:
            if generation == self.generation:
                return False
            self._memo = {}
            self.generation = generation
            return True

    def _remember(self, key: tuple[Any, ...], compute: Any) -> Any:
        memo = self._memo  # a refresh swaps the dict: never store into a newer generation's
        try:
            return memo[key]
        except KeyError:
            pass
        value = compute()
        if len(memo) >= MAX_ENTRIES:
            memo.clear()
        memo[key] = value
        return value

    # The reads ChainIndex composes from (find_leaf, status_at, proof build on these).
    def final_block(self) -> int | None:
        final: int | None = self._remember(
            ("final",), lambda: super(CachedChainIndex, self).final_block()
        )
        return final

    def unconfirmed(self, key: bytes, agency: bytes) -> LeafRecord | None:
        found: LeafRecord | None = self._remember(
            ("unconfirmed", key, agency),
            lambda: super(CachedChainIndex, self).unconfirmed(key, agency),
        )
        return found

    def find_by_key(self, key: bytes, agency: bytes | None = None) -> list[LeafRecord]:
        found: list[LeafRecord] = self._remember(
            ("key", key, agency), lambda: super(CachedChainIndex, self).find_by_key(key, agency)
        )
        return list(found)

    def find_leaf(self, leaf: bytes) -> LeafRecord | None:
        found: LeafRecord | None = self._remember(
            ("leaf", leaf), lambda: super(CachedChainIndex, self).find_leaf(leaf)
        )
        return found

    def batch_leaves(self, batch_id: int) -> list[bytes]:
        leaves: list[bytes] = self._remember(
            ("batch", batch_id), lambda: super(CachedChainIndex, self).batch_leaves(batch_id)
        )
        return list(leaves)

    def proof(self, record: LeafRecord) -> list[bytes]:
        proof: list[bytes] = self._remember(
            ("proof", record.batch_id, record.position),
            lambda: merkle.proof(self.batch_leaves(record.batch_id), record.position),
        )
        return list(proof)

    def status_history(self, leaf: bytes) -> list[StatusRecord]:
        history: list[StatusRecord] = self._remember(
            ("status", leaf), lambda: super(CachedChainIndex, self).status_history(leaf)
        )
        return list(history)

    def successor(self, leaf: bytes, timestamp: int | None = None) -> bytes | None:
        child: bytes | None = self._remember(
            ("successor", leaf, timestamp),
            lambda: super(CachedChainIndex, self).successor(leaf, timestamp),
        )
        return child
