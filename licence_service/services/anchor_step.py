"""The "anchor" step every use case shares: hand new leaves to the worker, optionally wait.

A use case records its document and pending leaf in one commit, then calls ``anchor``: the
leaves are batched and sent at once (so a caller that returns early still gets them on-chain
without waiting for the background worker's next round), and with ``wait`` the call returns
only once they are confirmed. Entry points never talk to the worker themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from licence_service.anchoring.worker import AnchorWorker, FlushResult, wait_anchored
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.store.models import AnchorBatch, OutboxEntry


def anchor(rt: Runtime, leaves: Sequence[str], wait: bool = False, timeout: float = 60.0) -> None:
    """Anchor everything pending now; with ``wait``, until ``leaves`` (hex) are confirmed."""
    AnchorWorker(rt).flush()
    if wait:
        wait_anchored(rt, [bytes.fromhex(leaf) for leaf in leaves], timeout)


def anchor_all(rt: Runtime) -> FlushResult:
    """Anchor everything pending (the demo and bulk work issue first, then anchor once)."""
    return AnchorWorker(rt).flush()


def anchored_by(rt: Runtime, leaf: str) -> tuple[str | None, int | None] | None:
    """The transaction and chain batch that anchored ``leaf`` (hex), or None if not yet."""
    with rt.sessions() as s:
        row = s.execute(
            select(OutboxEntry.state, AnchorBatch.tx_hash, AnchorBatch.chain_batch_id)
            .join(AnchorBatch, AnchorBatch.id == OutboxEntry.batch_id)
            .where(OutboxEntry.leaf == bytes.fromhex(leaf))
        ).first()
    if row is None or row[0] != OutboxState.ANCHORED:
        return None
    return row[1], row[2]
