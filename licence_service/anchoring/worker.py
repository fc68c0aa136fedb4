"""The anchoring worker: pending leaves in, confirmed batches out, exactly once.

A batch goes through three recorded states:
``prepared`` — its leaves are chosen and its signed transaction is stored, in one DB commit;
``sent`` — the stored transaction was broadcast (once mined: its block, batch id and time);
``confirmed`` — ``LICLEDGER_CONFIRMATIONS`` blocks are on top of its block: its leaves are
anchored (PENDING until then; a sent batch a reorganisation dropped is sent again).
After any crash the worker resumes unfinished batches first. The contract refuses a second
batch with the same root and can be asked which batch holds a root, so re-sending can never
anchor anything twice, and nothing recorded is ever dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ledger_client import merkle
from ledger_client.errors import ChainUnavailableError, ContractRevertError, TransactionError
from ledger_client.registry import RegistryClient
from ledger_client.transactions import RESEND_EVERY, NonceConflictError, SignedTx
from licence_service.anchoring.links import link_versions
from licence_service.anchoring.reconcile import agency_registry, reconcile, watch_head
from licence_service.anchoring.statuses import restate_statuses
from licence_service.audit import oplog
from licence_service.domain.states import BatchState, OutboxState
from licence_service.region.runtime import Runtime
from licence_service.store.lease import Lease, holder_name
from licence_service.store.models import Agency, AnchorBatch, OutboxEntry
from licence_service.store.unrecorded import UNRECORDED_DIR, set_aside_unrecorded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlushResult:
    batches: int
    leaves: int
    awaiting: int = 0  # batches mined but not yet final (confirmations)


class _ClaimLost(Exception):
    """Another worker claimed some of the chosen leaves first."""


class AnchorWorker:
    """Batches pending leaves per agency and anchors them."""

    def __init__(self, rt: Runtime, batch_size: int | None = None, oplog_every: int = 1) -> None:
        self.rt = rt
        self.batch_size = batch_size or rt.settings.batch_size
        # One lock per region runtime: the API's background worker and a request that anchors
        # right away must not batch the same leaves at the same time.
        self._lock = rt.anchor_lock
        self.oplog_every = oplog_every

    # ------------------------------------------------------------------ public

    def flush(self) -> FlushResult:
        """Put back what the chain lost, finish unfinished batches, then anchor everything
        pending; returns what it did."""
        with self._lock:
            with self.rt.sessions.begin() as s:
                for chained in oplog.CHAINED_LOGS:  # the operation log, the read log
                    chained.seal(s)
                    chained.anchor_head(s, every=self.oplog_every)
            lost = reconcile(self.rt)
            if lost.moved:  # first: a status change the chain dropped may hold the nonce
                restate_statuses(self.rt)  # that a stored batch's transaction waits behind
            done = [self._finish(batch_id) for batch_id in self._unfinished()]
            sent = []  # all sent before waiting for any: one block mines them all
            while (prepared := self._prepare_next(send=True)) is not None:
                sent.append(prepared)
            done += [self._finish(batch_id) for batch_id in sent]
            link_versions(self.rt)
            if lost.moved:  # and those of leaves anchored again just now
                restate_statuses(self.rt)
            watch_head(self.rt)
            final = [n for n in done if n is not None]
            return FlushResult(len(final), sum(final), len(done) - len(final))

    def run(
        self, stop: threading.Event, interval: float | None = None, lease: Lease | None = None
    ) -> None:
        """Flush every ``interval`` seconds until ``stop`` is set (errors are logged, retried),
        while this process holds the region's anchoring lease (the default: one per runtime)."""
        wait = interval if interval is not None else self.rt.settings.flush_interval
        lease = lease or Lease(self.rt.sessions, "anchoring", holder_name())
        next_sweep, restated, pause = 0.0, False, wait
        try:
            while not stop.is_set():
                try:
                    if lease.acquire():
                        if time.monotonic() >= next_sweep:  # at start, then hourly
                            self._set_aside_unrecorded()
                            next_sweep = time.monotonic() + SWEEP_EVERY
                        done = self.flush()
                        # Idle rounds space out (to IDLE_PAUSE): each costs queries and a chain
                        # call, and an idle server's rounds took CPU from its counters.
                        busy = done.batches or done.leaves or done.awaiting
                        pause = wait if busy else min(max(pause, 0.05) * 2, max(wait, IDLE_PAUSE))
                        if not restated:  # at start: a crash may have come mid-restatement
                            restate_statuses(self.rt)
                            restated = True
                except ChainUnavailableError as exc:  # an outage, not a fault: no traceback
                    log.warning("anchoring waits for the chain: %s", exc)
                    stop.wait(max(wait, 1.0))
                    continue
                except Exception:  # keep the worker alive: the next round retries from the DB
                    log.exception("anchoring round failed; retrying")
                    stop.wait(max(wait, 1.0))
                    continue
                stop.wait(pause)
        finally:
            try:
                lease.release()
            except Exception:  # the lease then simply expires
                log.exception("could not release the anchoring lease")

    # ------------------------------------------------------------------ steps

    def _set_aside_unrecorded(self) -> None:
        settings = self.rt.settings
        moved = set_aside_unrecorded(settings.pdf_dir, self.rt.sessions, settings.unrecorded_grace)
        if moved:
            log.warning("%s PDF file(s) no licence names (a crash before their commit) moved "
                        "to %s", moved, settings.pdf_dir / UNRECORDED_DIR)  # fmt: skip

    def _unfinished(self) -> list[int]:
        with self.rt.sessions() as s:
            return list(
                s.scalars(
                    select(AnchorBatch.id)
                    .where(AnchorBatch.state.in_((BatchState.PREPARED, BatchState.SENT)))
                    .order_by(AnchorBatch.id)
                )
            )

    def _prepare_next(self, send: bool = False) -> int | None:
        """Choose the next batch of one agency and store it with its signed transaction;
        with ``send``, broadcast it too before another signer may take a nonce."""
        try:
            return self._try_prepare(send)
        except (IntegrityError, _ClaimLost):
            # Another process batched the same leaves first (same root): ours never went out,
            # so give its nonce back and look again.
            self._reset_nonces()
            return self._prepare_next(send)

    def _reset_nonces(self) -> None:
        with self.rt.sessions() as s:
            codes = [a.code for a in s.scalars(select(Agency))]
        for code in codes:
            sender = self.rt.registry(self.rt.agency_account(code)).sender
            if sender is not None:
                sender.reset_nonce()

    def _try_prepare(self, send: bool) -> int | None:
        """Store the next batch and broadcast it, holding the agency account's nonces from
        signing to sending (``TransactionSender.sending``): another process's transaction
        never takes the stored transaction's nonce in between."""
        with self.rt.sessions() as s:
            agency_id = s.scalar(
                select(OutboxEntry.agency_id)
                .where(OutboxEntry.state == OutboxState.PENDING)
                .order_by(OutboxEntry.id)
                .limit(1)
            )
        if agency_id is None:
            return None
        registry = self._registry(agency_id)
        assert registry.sender is not None
        with registry.sender.sending():
            stored = self._store_batch(agency_id, registry)
            if send and stored is not None and stored[1] is not None:
                self._send(registry, stored[1], stored[0])
        return stored[0] if stored else None

    def _store_batch(
        self, agency_id: int, registry: RegistryClient
    ) -> tuple[int, SignedTx | None] | None:
        with self.rt.sessions.begin() as s:
            first = s.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.state == OutboxState.PENDING, OutboxEntry.agency_id == agency_id)
                .order_by(OutboxEntry.id)
            ).first()
            if first is None:
                return None
            entries = list(
                s.scalars(
                    select(OutboxEntry)
                    .where(
                        OutboxEntry.state == OutboxState.PENDING,
                        OutboxEntry.agency_id == first.agency_id,
                    )
                    .order_by(OutboxEntry.id)
                    .limit(self.batch_size)
                )
            )
            docs = sorted((e.leaf, e.key, e.body) for e in entries)
            leaves = [d[0] for d in docs]
            try:
                signed: SignedTx | None = registry.prepare_anchor(
                    [d[1] for d in docs], [d[2] for d in docs]
                )
            except ContractRevertError as exc:
                if exc.name != "BatchAlreadyAnchored":
                    raise
                # These very leaves are on-chain already: another worker's batch (then our
                # claim below fails and we look again), or a batch this database lost track
                # of (then we adopt it instead of anchoring anything twice).
                signed = None
            batch = AnchorBatch(
                agency_id=first.agency_id,
                state=BatchState.PREPARED if signed else BatchState.SENT,
                root=merkle.root(leaves),
                raw_tx=signed.raw if signed else None,
                tx_hash=signed.tx_hash if signed else None,
                nonce=signed.nonce if signed else None,
            )
            s.add(batch)
            s.flush()
            # Claim the entries only if nobody else did meanwhile (another process's worker).
            claimed = s.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_([e.id for e in entries]),
                    OutboxEntry.state == OutboxState.PENDING,
                )
                .values(state=OutboxState.BATCHED, batch_id=batch.id)
            )
            if claimed.rowcount != len(entries):  # type: ignore[attr-defined]
                raise _ClaimLost  # rolls the batch back
            return batch.id, signed

    def _finish(self, batch_id: int) -> int | None:
        """Broadcast (again, if needed) one stored batch, wait until it is mined and record
        where; its leaf count once final, None while it awaits confirmations."""
        with self.rt.sessions() as s:
            batch = s.get(AnchorBatch, batch_id)
            assert batch is not None
            agency_id, root, raw = batch.agency_id, batch.root, batch.raw_tx
            tx_hash, nonce = batch.tx_hash, batch.nonce
            leaves = sorted(
                (e.leaf, e.key, e.body)
                for e in s.scalars(select(OutboxEntry).where(OutboxEntry.batch_id == batch_id))
            )
        registry = self._registry(agency_id)
        sender = registry.sender
        assert sender is not None

        signed = None if raw is None or tx_hash is None or nonce is None else (
            SignedTx(raw, tx_hash, nonce, sender.address)
        )  # fmt: skip
        if registry.batch_id_of_root(root) == 0:
            if signed is None:
                raise TransactionError(f"batch {batch_id} has no transaction and is not on-chain")
            with sender.sending():
                try:
                    self._send(registry, signed, batch_id)
                except NonceConflictError:
                    # The stored transaction's nonce went to another transaction (a crash
                    # before it was sent): unless that was this very batch, sign it again
                    # with a fresh nonce and store that first.
                    if registry.batch_id_of_root(root) == 0:
                        fresh = self._sign_again(registry, root, leaves)
                        if fresh is not None:
                            self._store_tx(batch_id, fresh)
                            self._send(registry, fresh, batch_id)
                            signed = fresh
        chain_id = self._wait_for_root(registry, root, signed)
        info = registry.batch_of_root(root)
        needed = self.rt.settings.confirmations
        final = needed <= 0 or int(registry.w3.eth.block_number) - info.block_number >= needed
        with self.rt.sessions.begin() as s:
            batch = s.get(AnchorBatch, batch_id)
            assert batch is not None
            batch.tx_hash = batch.tx_hash or registry.anchoring_transaction(
                chain_id, info.block_number
            )
            batch.chain_batch_id = chain_id
            batch.block_number = info.block_number
            batch.block_time = datetime.fromtimestamp(info.timestamp, tz=UTC)
            if not final:
                return None  # stays ``sent``: the next round looks again
            batch.state = BatchState.CONFIRMED
            s.execute(
                update(OutboxEntry)
                .where(OutboxEntry.batch_id == batch_id)
                .values(state=OutboxState.ANCHORED)
            )
        return len(leaves)

    def _send(self, registry: RegistryClient, signed: SignedTx, batch_id: int) -> None:
        with self.rt.sessions.begin() as s:
            batch = s.get(AnchorBatch, batch_id)
            assert batch is not None
            batch.state = BatchState.SENT
            batch.attempts += 1
        assert registry.sender is not None
        registry.sender.broadcast(signed)

    def _sign_again(
        self, registry: RegistryClient, root: bytes, leaves: Sequence[tuple[bytes, bytes, bytes]]
    ) -> SignedTx | None:
        """The batch signed with a fresh nonce, or None if it was mined meanwhile (a worker in
        another process sent it: the 409 ``BatchAlreadyAnchored`` a request once answered)."""
        try:
            return registry.prepare_anchor([p[1] for p in leaves], [p[2] for p in leaves])
        except ContractRevertError as exc:
            if exc.name == "BatchAlreadyAnchored" and registry.batch_id_of_root(root):
                return None
            raise

    def _store_tx(self, batch_id: int, signed: SignedTx) -> None:
        with self.rt.sessions.begin() as s:
            batch = s.get(AnchorBatch, batch_id)
            assert batch is not None
            batch.raw_tx, batch.tx_hash, batch.nonce = signed.raw, signed.tx_hash, signed.nonce

    def _wait_for_root(self, registry: RegistryClient, root: bytes, signed: SignedTx | None) -> int:
        """The chain batch id of ``root`` once mined (the receipt itself may be lost).

        Meanwhile the stored transaction is sent again whenever the node no longer knows it
        (``TransactionSender.resend_if_dropped``: a node can drop the transactions of a block
        a Clique fork replaced): the same bytes and nonce, and the contract refuses a root
        twice, so the batch is still anchored at most once."""
        deadline = time.monotonic() + self.rt.settings.receipt_timeout
        next_look = time.monotonic() + RESEND_EVERY
        while time.monotonic() < deadline:
            chain_id = registry.batch_id_of_root(root)
            if chain_id:
                return chain_id
            if signed is not None and registry.sender and time.monotonic() >= next_look:
                registry.sender.resend_if_dropped(signed)
                next_look = time.monotonic() + RESEND_EVERY
            time.sleep(self.rt.settings.chain().poll_interval)
        raise TransactionError(
            f"batch with root 0x{root.hex()} not anchored within "
            f"{self.rt.settings.receipt_timeout:.0f} s; it stays recorded and is retried"
        )

    def _registry(self, agency_id: int) -> RegistryClient:
        return agency_registry(self.rt, agency_id)


SWEEP_EVERY = 3600.0  # seconds between two looks for PDF files no row names (store.unrecorded)
IDLE_PAUSE = 2.0  # seconds between anchoring rounds that found nothing to do, at most

CONFIRM_POLL = 0.5  # seconds between two looks at confirmations while a caller waits


def wait_anchored(rt: Runtime, leaves: Sequence[bytes], timeout: float = 60.0) -> None:
    """Block until every leaf in ``leaves`` is anchored (or raise ``TransactionError``); with
    confirmations, flushing meanwhile (no background worker may run: the CLI)."""
    deadline = time.monotonic() + timeout
    next_flush = time.monotonic() + CONFIRM_POLL
    unavailable: ChainUnavailableError | None = None  # a node away or catching up: wait on
    while True:
        if rt.settings.confirmations and time.monotonic() >= next_flush:
            try:
                AnchorWorker(rt).flush()
                unavailable = None
            except ChainUnavailableError as exc:
                unavailable = exc
            next_flush = time.monotonic() + CONFIRM_POLL
        with rt.sessions() as s:
            left = s.scalar(
                select(OutboxEntry.id)
                .where(
                    OutboxEntry.leaf.in_(list(leaves)), OutboxEntry.state != OutboxState.ANCHORED
                )
                .limit(1)
            )
        if left is None:
            return
        if time.monotonic() > deadline:
            why = f" (the chain: {unavailable})" if unavailable else ""
            raise TransactionError(f"not anchored within {timeout:.0f} s{why}")
        time.sleep(0.05)
