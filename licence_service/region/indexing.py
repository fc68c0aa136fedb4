"""The region's chain indexer: one process indexes, the others follow it.

Several server processes may run against one database. Each keeps its verifier fresh by
"syncing" the chain index, but only the holder of the region's ``indexer`` lease reads the
chain's events and writes them; every other process *follows*: it reads the chain head, then
waits until the holder's checkpoint has passed it. A follower's view is then exactly as fresh
as its own sync would have been (everything up to the head it read is in the index), without
a second process reading every event and racing for the same rows. When the holder dies its
lease runs out (``ttl`` seconds) and a follower takes it at its next round.

A process without a lease (the CLI, a one-off tool) indexes itself, as before: the writes are
idempotent, so a CLI sync beside a server is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledger_client.index import ChainIndexer, SyncResult
from licence_service.store.lease import Lease

log = logging.getLogger(__name__)

# How often a follower looks at the holder's checkpoint, and tries the lease while waiting.
FOLLOW_POLL = 0.02
LEASE_RETRY = 0.5
# A holder that has not indexed past the head a follower read within this many lease
# lifetimes is presumed stuck (alive but not indexing): the follower then indexes itself
# rather than keep its counters waiting. Safe, since storing a range twice changes nothing.
PATIENCE_TTLS = 3


class MarkingIndexer(ChainIndexer):
    """A ``ChainIndexer`` that remembers when its last sync started, so the server's verifier
    learns at once that this process indexed something (an anchoring, a status change), and
    that indexes only while it holds ``lease`` (when it has one), following the holder else."""

    last_sync_start = -1e9  # time.monotonic(), taken before the sync reads the chain head
    rewinds = 0  # times the index forgot blocks the chain lost: verifiers' memories go too
    lease: Lease | None = None  # set by a server process: one indexing process per region
    indexed_rounds = 0  # syncs that read the chain's events here
    followed_rounds = 0  # syncs answered by following the lease holder's checkpoint
    _seen_checkpoint = -1

    def rewind_to(self, first_missing: int) -> None:
        """Forget what the index holds from block ``first_missing`` on: the chain lost those
        blocks (``anchoring.reconcile`` calls this before it mines anything new there)."""
        with self._lock:
            if self.checkpoint() > first_missing:
                self._rewind(first_missing)

    def _rewind(self, first_missing: int) -> None:
        super()._rewind(first_missing)
        self.rewinds += 1

    def sync(self, progress: Callable[[int, int], None] | None = None) -> SyncResult:
        started = time.monotonic()
        lease = self.lease
        result = None if lease is None or lease.acquire() else self._follow(lease, started)
        if result is None:  # no lease, the lease, or a holder that died or is stuck
            result = super().sync(progress)
            self.indexed_rounds += 1
        else:
            self.followed_rounds += 1
        self.last_sync_start = max(self.last_sync_start, started)
        return result

    def checkpoint(self) -> int:
        return self._seen(super().checkpoint())

    def tip(self) -> tuple[int, bytes | None]:
        value, tip_hash = super().tip()
        return self._seen(value), tip_hash

    def _seen(self, value: int) -> int:
        if value < self._seen_checkpoint:  # another process rewound the index
            self.rewinds += 1
        self._seen_checkpoint = value
        return value

    def _follow(self, lease: Lease, started: float) -> SyncResult | None:
        """Wait until the lease holder has indexed the chain head as it is now; None when this
        process must index itself instead: it took the lease (the holder died and its lease
        ran out), or the holder seems stuck."""
        head = self.head()
        first = self.checkpoint()
        patience = PATIENCE_TTLS * lease.ttl.total_seconds()
        next_try = started + LEASE_RETRY
        while True:
            at = self.checkpoint()
            if at > head and (at == head + 1 or self.head() + 1 >= at):
                # Caught up: a checkpoint past head + 1 is fine only while the chain still has
                # those blocks (else the holder has a rewind to do first).
                return SyncResult(first, head, 0, 0)
            now = time.monotonic()
            if now >= next_try:
                next_try = now + LEASE_RETRY
                if lease.acquire():
                    log.info("took over the region's indexer lease")
                    return None
            if now - started > patience:
                log.warning("the indexer lease holder has not indexed block %s in %.0f s; "
                            "indexing here", head, patience)  # fmt: skip
                return None
            time.sleep(FOLLOW_POLL)
