"""Batches the chain no longer has: noticed, and anchored again.

A chain node can come back with fewer blocks than it had: the embedded node killed between two
state dumps restarts from its last dump, and a network may lose its unfinalised head. The
batches it mined after that point were recorded here as confirmed, so nothing would ever send
them again and their licences would stop verifying.

Every anchoring round asks the chain whether the newest confirmed batch still holds its root
(one ``eth_call``). Only when it does not does it walk back to the newest batch still there;
every batch after it is put back in the worker's hands:

- its root is on-chain under another batch id (someone sent it again): ``sent``, so the worker
  records where it is now;
- its root is gone: ``prepared`` with a transaction signed afresh (the chain's account nonces
  went back too, so the stored bytes may never be mined), so the worker sends it again.

The contract refuses a second batch with one root, so this can never anchor anything twice.
Version links (``supersede``) the chain lost are put back to pending, and the chain index is
rewound to the oldest lost batch's block so verifiers forget what the chain no longer says.

A reorganisation may also take transactions that are no batch: a status change, a version
link. So each round also asks whether the chain *moved*: the head block this process's worker
saw at the end of its last round is no longer the chain's (``watch_head``), or the newest
recorded status change's transaction is gone (it may have been sent outside any round). Then
the agencies' nonces are read afresh (the chain's went back: a nonce counted on from the old
chain would leave a gap no later transaction gets past), lost links go back to pending, and
the worker restates the status changes (``anchoring.statuses``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from web3.exceptions import TransactionNotFound

from ledger_client.errors import ChainUnavailableError
from ledger_client.index_reorg import block_hash
from ledger_client.registry import RegistryClient
from licence_service.domain.states import BatchState, LinkState, OutboxState
from licence_service.region.runtime import Runtime
from licence_service.store.models import (
    Agency,
    AnchorBatch,
    LicenceVersion,
    OutboxEntry,
    StatusChange,
)

log = logging.getLogger(__name__)

_PAGE = 50  # confirmed batches read per query while walking back


@dataclass(frozen=True)
class Reconciled:
    """What a reconciliation found: batches the chain lost, links put back to pending, and
    whether the chain moved under the worker (its status changes then need a look)."""

    lost_batches: int = 0
    relinks: int = 0
    moved: bool = False


def reconcile(rt: Runtime) -> Reconciled:
    """Put every confirmed batch the chain no longer holds back into the anchoring queue."""
    registry = rt.registry()
    lost = _lost_batches(rt, registry)
    if not lost:
        if not (_head_replaced(rt) or _newest_change_dropped(rt)):
            return Reconciled()
        log.warning("the chain reorganised recent blocks: nonces read again, changes checked")
        for agency_id in _agency_ids(rt):
            _reset_nonce(rt, agency_id)
        return Reconciled(0, _unlink_lost(rt, registry), moved=True)
    head = int(registry.w3.eth.block_number)
    log.warning(
        "the chain (head %s) no longer holds %s confirmed batch(es): anchoring them again",
        head, len(lost),
    )  # fmt: skip
    # Forget the index's view from the oldest lost batch's block on: the node went back
    # (a lower head) or a reorganisation replaced those blocks at the same height.
    rt.indexer.rewind_to(min([head + 1, *(block for _, _, block in lost)]))
    for agency_id in {agency for _, agency, _ in lost}:
        _reset_nonce(rt, agency_id)  # the chain's nonces went back with its blocks
    for batch_id, agency_id, _ in sorted(lost):  # the order they were sent: nonces in order
        _requeue(rt, batch_id, agency_registry(rt, agency_id))
    return Reconciled(len(lost), _unlink_lost(rt, registry), moved=True)


def watch_head(rt: Runtime) -> None:
    """Remember the chain's head block as this round leaves it (``_head_replaced``)."""
    number = rt.indexer.head()
    seen = block_hash(rt.w3, number)
    rt.chain_watch = (number, seen) if seen is not None else None


def _head_replaced(rt: Runtime) -> bool:
    """True when the head block the last round left is no longer on the chain."""
    if rt.chain_watch is None:
        return False
    number, seen = rt.chain_watch
    return block_hash(rt.w3, number) != seen


def _newest_change_dropped(rt: Runtime) -> bool:
    """True when the chain no longer has the transaction of the newest recorded status change
    (the newest is the first a reorganisation or a node's lost blocks takes away)."""
    with rt.sessions() as s:
        tx_hash = s.scalar(select(StatusChange.tx_hash).order_by(StatusChange.id.desc()).limit(1))
    if not tx_hash:
        return False
    try:
        rt.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return True
    except Exception as exc:
        raise ChainUnavailableError(f"cannot read a receipt ({exc})") from exc
    return False


def _agency_ids(rt: Runtime) -> list[int]:
    with rt.sessions() as s:
        return list(s.scalars(select(Agency.id)))


def _reset_nonce(rt: Runtime, agency_id: int) -> None:
    sender = agency_registry(rt, agency_id).sender
    if sender is not None:
        sender.reset_nonce()


def _lost_batches(rt: Runtime, registry: RegistryClient) -> list[tuple[int, int, int]]:
    """Confirmed batches (id, agency id, block) newer than the newest one the chain still
    holds."""
    lost: list[tuple[int, int, int]] = []
    offset = 0
    while True:
        with rt.sessions() as s:
            page = s.execute(
                select(
                    AnchorBatch.id,
                    AnchorBatch.agency_id,
                    AnchorBatch.root,
                    AnchorBatch.chain_batch_id,
                    AnchorBatch.block_number,
                )
                .where(AnchorBatch.state == BatchState.CONFIRMED)
                .order_by(AnchorBatch.block_number.desc(), AnchorBatch.id.desc())
                .offset(offset)
                .limit(_PAGE)
            ).all()
        for batch_id, agency_id, root, chain_id, block in page:
            if registry.batch_id_of_root(root) == chain_id:
                return lost  # the chain holds this one, so every older one too
            lost.append((batch_id, agency_id, int(block) if block is not None else 1 << 62))
        if len(page) < _PAGE:
            return lost
        offset += _PAGE


def _requeue(rt: Runtime, batch_id: int, registry: RegistryClient) -> None:
    with rt.sessions.begin() as s:
        batch = s.get(AnchorBatch, batch_id)
        assert batch is not None
        docs = sorted(
            (e.leaf, e.key, e.body)
            for e in s.scalars(select(OutboxEntry).where(OutboxEntry.batch_id == batch_id))
        )
        batch.chain_batch_id = batch.block_number = batch.block_time = None
        if registry.batch_id_of_root(batch.root):
            batch.state, batch.raw_tx = BatchState.SENT, None  # on-chain elsewhere: record it
        else:
            signed = registry.prepare_anchor([d[1] for d in docs], [d[2] for d in docs])
            batch.state = BatchState.PREPARED
            batch.raw_tx, batch.tx_hash, batch.nonce = signed.raw, signed.tx_hash, signed.nonce
        s.execute(
            update(OutboxEntry)
            .where(OutboxEntry.batch_id == batch_id)
            .values(state=OutboxState.BATCHED)
        )


def _unlink_lost(rt: Runtime, registry: RegistryClient) -> int:
    """Version links recorded as made that the chain no longer has: back to pending."""
    with rt.sessions() as s:
        linked = [
            (v.id, v.parent_leaf, v.leaf)
            for v in s.scalars(
                select(LicenceVersion).where(LicenceVersion.link_state == LinkState.LINKED)
            )
        ]
    gone = [
        vid for vid, parent, child in linked
        if parent is not None and registry.successor_of(parent) != child
    ]  # fmt: skip
    if gone:
        with rt.sessions.begin() as s:
            s.execute(
                update(LicenceVersion)
                .where(LicenceVersion.id.in_(gone))
                .values(link_state=LinkState.PENDING)
            )
    return len(gone)


def agency_registry(rt: Runtime, agency_id: int) -> RegistryClient:
    """The registry client that signs as agency ``agency_id``'s chain account."""
    with rt.sessions() as s:
        agency = s.get(Agency, agency_id)
        assert agency is not None
        code = agency.code
    return rt.registry(rt.agency_account(code))
