"""Status changes the chain lost: sent again, so a revoked licence never verifies VALID.

A status change (suspend, revoke, ...) is sent and mined first and recorded after. A chain that
comes back without its newest blocks (``anchoring.reconcile``) may have lost status changes
too: the database says REVOKED, the chain says ACTIVE, and a verifier believes the chain. Once
the lost batches are anchored again, each version's (or attachment's) latest recorded status
is compared with the chain's, and sent again where they differ, with the leaf's proof in the
batch that holds it now; the record is pointed at the new transaction.

The check reads one status per changed leaf, so the worker runs it when a reconciliation found
lost batches or saw the chain move under it (a reorganisation of recent blocks:
``reconcile.Reconciled.moved``), and once when it starts (a crash may have come between).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import func, select

from ledger_client.registry import LeafStatus
from licence_service.anchoring.members import member_of
from licence_service.anchoring.reconcile import agency_registry
from licence_service.region.runtime import Runtime
from licence_service.store.models import Attachment, LicenceVersion, OutboxEntry, StatusChange

log = logging.getLogger(__name__)


def restate_statuses(rt: Runtime) -> int:
    """Send again each latest status change the chain does not show; returns how many. The
    chain's nonces may have gone back with its blocks: each agency's is read afresh first."""
    reader = rt.registry()
    sent = 0
    fresh: set[int] = set()
    for change_id, leaf, status, reason in _latest_changes(rt):
        want = LeafStatus[status]
        if reader.leaf_status(leaf).status == want:
            continue
        with rt.sessions() as s:
            member = member_of(s, leaf)
            agency_id = s.scalar(select(OutboxEntry.agency_id).where(OutboxEntry.leaf == leaf))
        if member is None or agency_id is None:
            continue  # not anchored again yet: the next check sends it
        registry = agency_registry(rt, agency_id)
        if agency_id not in fresh and registry.sender is not None:
            registry.sender.reset_nonce()
            fresh.add(agency_id)
        event = registry.change_status(leaf, member.batch_id, member.proof, want, reason)
        with rt.sessions.begin() as s:
            row = s.get(StatusChange, change_id)
            assert row is not None
            row.tx_hash, row.block_number = event.tx.tx_hash, event.tx.block_number
            row.block_time = datetime.fromtimestamp(event.timestamp, tz=UTC)
        sent += 1
    if sent:
        log.warning("%s status change(s) the chain had lost were sent again", sent)
    return sent


def _latest_changes(rt: Runtime) -> list[tuple[int, bytes, str, int]]:
    """(change id, leaf, status, reason code) of the latest change of each changed leaf."""
    latest = select(func.max(StatusChange.id)).group_by(
        StatusChange.version_id, StatusChange.attachment_id
    )
    with rt.sessions() as s:
        rows = s.scalars(select(StatusChange).where(StatusChange.id.in_(latest))).all()
        out = []
        for row in rows:
            if row.attachment_id is not None:
                leaf = s.scalar(select(Attachment.leaf).where(Attachment.id == row.attachment_id))
            else:
                leaf = s.scalar(
                    select(LicenceVersion.leaf).where(LicenceVersion.id == row.version_id)
                )
            if leaf is not None:
                out.append((row.id, leaf, row.status, row.reason_code))
    return out
