"""Where an anchored leaf is: its chain batch id and its Merkle proof, from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_client import merkle
from ledger_client.registry import Member
from licence_service.domain.states import OutboxState
from licence_service.store.models import OutboxEntry


def member_of(s: Session, leaf: bytes) -> Member | None:
    """The anchored ``leaf`` with its chain batch id and Merkle proof, or None if not anchored."""
    entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == leaf))
    if entry is None or entry.state != OutboxState.ANCHORED or entry.batch is None:
        return None
    batch = entry.batch
    assert batch.chain_batch_id is not None
    leaves = sorted(s.scalars(select(OutboxEntry.leaf).where(OutboxEntry.batch_id == batch.id)))
    return Member(leaf, batch.chain_batch_id, tuple(merkle.proof(leaves, leaves.index(leaf))))
