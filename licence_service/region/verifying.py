"""The verifier a server answers counters with: held in memory, refreshed in the background.

Building a verifier per request (trust store from key files, the database and the
directory's events; a chain-index sync; every lookup a database query) capped a server at
about a hundred QR checks a second. Here one verifier is kept with its trust store and an
in-memory view of the chain index, and a background thread refreshes both every
``freshness`` seconds (``LICLEDGER_VERIFY_FRESHNESS_SECONDS``, default 1): a request reads
memory only, writes nothing, and makes no chain round trip.

What the freshness bound means, exactly:

- A VALID answer is as of the index block it names (``as_of_block``), at most ``freshness``
  seconds (plus one refresh) behind the chain head. This process's own writes (a transaction
  it saw mined: an anchoring, a revocation) and its own index syncs are seen at once.
- Every other verdict is re-checked against the chain head before it is given (index synced,
  trust store rebuilt, as for a one-off verification): nothing is refused for being stale.
- ``direct`` (``?direct=true``) is the forced-chain option: a fresh verifier that reads the
  Merkle proof and the status from contract state, as ``Runtime.verifier(direct=True)``.
- ``freshness`` 0 turns the cache off: every request verifies as a one-off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from ledger_client.errors import ChainUnavailableError
from ledger_client.index import ChainIndex
from ledger_client.index_cache import CachedChainIndex
from ledger_client.registry import RegistryClient
from ledger_client.transactions import SignedTx, TransactionSender
from licence_service.region.indexing import MarkingIndexer
from licence_service.region.settings import ENV_PREFIX, ConfigError
from verifier.documents import RememberedDocumentChecks
from verifier.engine import TrustStore, Verifier, VerifierConfig
from verifier.verdicts import Verdict, VerificationResult


class Region(Protocol):
    """What the verifier is built from: the parts of ``region.runtime.Runtime`` it reads."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...
    @property
    def indexer(self) -> MarkingIndexer: ...
    @property
    def index(self) -> ChainIndex: ...
    def registry(self, account: LocalAccount | None = None) -> RegistryClient: ...
    def trust_store(self) -> TrustStore: ...
    def pending_leaf(self, key: bytes) -> bytes | None: ...
    def verifier(self, direct: bool = False) -> Verifier: ...


log = logging.getLogger(__name__)

FRESHNESS_ENV = ENV_PREFIX + "VERIFY_FRESHNESS_SECONDS"
DEFAULT_FRESHNESS = 1.0
# The trust store also holds what no chain event announces (trusted roots in the key folder):
# it is rebuilt at least this often even when the chain is quiet.
TRUST_MAX_AGE = 10.0


def freshness_from_env() -> float:
    raw = os.environ.get(FRESHNESS_ENV, str(DEFAULT_FRESHNESS))
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{FRESHNESS_ENV}={raw!r} is not a number of seconds") from exc
    if not 0 <= value <= 3600:
        raise ConfigError(f"{FRESHNESS_ENV}={raw!r} must be between 0 and 3600 seconds")
    return value


_last_mined = -1e9  # time.monotonic() when a sender of this process last saw its tx mined


def last_mined() -> float:
    return _last_mined


def _note_mined() -> None:
    global _last_mined
    _last_mined = time.monotonic()


class WriteMarkingSender(TransactionSender):
    """A ``TransactionSender`` that notes each transaction it sees mined, so that verifiers
    in this process answer after the process's own writes (a revocation, an anchoring, by
    any region it runs) from a view that includes them, whatever the freshness bound."""

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        found = super().receipt(tx_hash)
        if found is not None:
            _note_mined()
        return found

    def wait(
        self, tx_hash: str, call: ContractFunction | None = None, signed: SignedTx | None = None
    ) -> TxReceipt:
        try:
            return super().wait(tx_hash, call, signed)
        finally:
            _note_mined()


@dataclass(frozen=True)
class Snapshot:
    """One consistent verifier and what it is as of."""

    verifier: Verifier
    block: int  # the index's checkpoint: every event before this block is in it
    mark: float  # time.monotonic() when the sync it includes started (read the chain head)
    at: datetime


class _NeedsThread(Exception):
    """Raised inside an answer attempted on the event loop when it would block (a database
    read): the answer is then made in a worker thread instead."""


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class VerifyingState:
    """The server's verifier, kept fresh by ``run`` (a background thread) or on demand."""

    def __init__(self, rt: Region, freshness: float) -> None:
        self.rt = rt
        self.freshness = freshness
        self._registry = rt.registry()
        self.index = CachedChainIndex(rt.sessions, self._registry.address, rt.index.confirmations)
        self.documents = RememberedDocumentChecks()
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._beat = -1e9  # when the background refresher last finished a refresh
        self._built = -1e9  # when the current verifier (index view, trust store) was built
        # the index generation the verifier was built on
        self._generation: tuple[int, int, bytes | None] | None = None

    # ------------------------------------------------------------------ refreshing
    def refresh(self, not_before: float = 0.0) -> Snapshot:
        """Sync the index and rebuild the verifier; a snapshot whose sync started at or after
        ``not_before`` (made by any thread meanwhile) is as good as one made now."""
        with self._lock:
            current = self._snapshot
            if current is not None and current.mark >= not_before:
                return current
            at = datetime.now(UTC)
            self.rt.indexer.sync()
            mark = self.rt.indexer.last_sync_start
            block, tip = self.rt.indexer.tip()
            # after a rewind the checkpoint may come back to a value it had, and a
            # reorganisation read again ends at the same block with another hash: a new
            # generation either way
            generation = (self.rt.indexer.rewinds, block, tip)
            if (
                current is not None
                and generation == self._generation
                and time.monotonic() - self._built < TRUST_MAX_AGE
            ):
                # Nothing new on chain since the verifier was built: its index and trust store
                # (directory events, agencies registered on chain) are unchanged, so it answers
                # as of this sync too. Rebuilding them twice a second for nothing cost a
                # server process a fifth of a core while idle.
                self._snapshot = Snapshot(current.verifier, block, mark, at)
                return self._snapshot
            self.index.refresh(generation)
            self._generation, self._built = generation, time.monotonic()
            verifier = Verifier(
                index=self.index,
                trust=self.rt.trust_store(),
                registry=self._registry,
                pending=self._pending_leaf,
                config=VerifierConfig(sync_before_verify=False),
                documents=self.documents,
            )
            self._snapshot = Snapshot(verifier, block, mark, at)
            return self._snapshot

    def _bound(self) -> float:
        """How old the snapshot may be before a request refreshes it itself: ``freshness``,
        or while the background refresher beats, longer than it takes (so no request waits
        for a refresh the refresher is about to make; its own pace keeps the bound)."""
        if time.monotonic() - self._beat < 5 * self.freshness + 2:
            return 5 * self.freshness + 2
        return self.freshness

    def run(self, stop: threading.Event) -> None:
        """Refresh every ``freshness / 2`` seconds until ``stop`` (a server's background task)."""
        while not stop.is_set():
            try:
                self.refresh(time.monotonic())
                self._beat = time.monotonic()
            except Exception as exc:
                # No beat: the snapshot answers only within ``freshness`` now; past it a
                # request refreshes itself, and while the chain is down it is told so (503).
                self._beat = -1e9
                if isinstance(exc, ChainUnavailableError):
                    log.warning("verifier refresh waits for the chain: %s", exc)
                else:
                    log.exception("verifier refresh failed; requests will refresh on their own")
            stop.wait(self.freshness / 2)  # ahead of the bound, so requests never wait for it

    # ------------------------------------------------------------------ answering
    def snapshot(self) -> Snapshot:
        ready = self.ready()
        if ready is not None:
            return ready
        current = self._snapshot
        latest = max(self.rt.indexer.last_sync_start, last_mined())
        if current is None or latest > current.mark:  # this process wrote or indexed news
            return self.refresh(latest)
        return self.refresh(time.monotonic())  # older than the freshness bound

    def _pending_leaf(self, key: bytes) -> bytes | None:
        if _on_event_loop():
            raise _NeedsThread
        return self.rt.pending_leaf(key)

    def ready(self) -> Snapshot | None:
        """The current snapshot when answering from it needs no refresh (nothing this process
        wrote or indexed is newer, and it is within the freshness bound), else None."""
        current = self._snapshot
        if current is None:
            return None
        if max(self.rt.indexer.last_sync_start, last_mined()) > current.mark:
            return None
        if time.monotonic() - current.mark > self._bound():
            return None
        return current

    def verify_qr_in_memory(
        self, payload: str, at: datetime | None = None
    ) -> VerificationResult | None:
        """A VALID verdict for a QR payload from memory alone, or None when the answer needs
        blocking work (a refresh, a database read, a re-check of a refusal against the chain
        head). Safe on the event loop: it spares the common case, a genuine code at a busy
        counter, the hop to a worker thread that cost more than the check itself."""
        snap = self.ready()
        if snap is None:
            return None
        try:
            result = snap.verifier.verify_qr(payload, at)
        except _NeedsThread:
            return None
        if result.verdict is not Verdict.VALID:
            return None
        return _as_of(result, snap)

    def verify_pdf(
        self, data: bytes, at: datetime | None = None, direct: bool = False
    ) -> VerificationResult:
        return self._verify(lambda v: v.verify_pdf(data, at), direct)

    def verify_qr(
        self, payload: str, at: datetime | None = None, direct: bool = False
    ) -> VerificationResult:
        return self._verify(lambda v: v.verify_qr(payload, at), direct)

    def _verify(
        self, run: Callable[[Verifier], VerificationResult], direct: bool
    ) -> VerificationResult:
        arrived = time.monotonic()
        if direct or self.freshness <= 0:
            return run(self.rt.verifier(direct=direct))
        snap = self.snapshot()
        result = run(snap.verifier)
        if result.verdict is not Verdict.VALID:
            snap = self.refresh(arrived)  # a refusal is never given from a stale view
            result = run(snap.verifier)
        return _as_of(result, snap)


def _as_of(result: VerificationResult, snap: Snapshot) -> VerificationResult:
    """``result`` saying which index view it came from (the API's ``X-Index-Block``)."""
    result.extra["as_of_block"] = snap.block
    result.extra["index_synced_at"] = snap.at.isoformat(timespec="milliseconds")
    return result
