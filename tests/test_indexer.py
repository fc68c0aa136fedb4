"""The chain index: bounded ranges that halve when a node refuses them, resumable, idempotent;
and a quick regression floor for replay throughput."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select, update
from web3 import Web3

from ledger_client import merkle
from ledger_client.connection import ChainConfig
from ledger_client.errors import ChainUnavailableError
from ledger_client.events import scan
from ledger_client.index import ChainIndex, ChainIndexer, IndexCheckpoint, IndexedLeaf
from ledger_client.registry import LeafStatus
from licence_service.audit.history import read_history
from licence_service.db import make_engine, make_sessions
from tests.chain_fixtures import fresh_registry, registry_as, sender_for


@pytest.fixture
def chain(w3: Web3, chain_config: ChainConfig, tmp_path):
    deployment, admin = fresh_registry(w3, chain_config)
    issuer = sender_for(w3, chain_config)
    registry_as(w3, deployment, admin).register_issuer(issuer.address, 330100)
    reg = registry_as(w3, deployment, issuer)
    batches = []
    for _ in range(6):
        leaves = merkle.sorted_unique([os.urandom(32) for _ in range(5)])
        ev = reg.anchor(leaves, [os.urandom(32) for _ in leaves])
        batches.append((leaves, ev.batch_id))
    leaves, batch_id = batches[0]
    reg.change_status(leaves[0], batch_id, merkle.proof(leaves, 0), LeafStatus.REVOKED, 1)
    sessions = make_sessions(make_engine(f"sqlite:///{tmp_path / 'index.db'}"))
    return reg, deployment, sessions, batches


def test_sync_is_resumable_and_idempotent(chain) -> None:
    reg, deployment, sessions, batches = chain
    indexer = ChainIndexer(reg, sessions, start_block=deployment.block_number, max_range=3)
    first = indexer.sync()
    assert (first.batches, first.status_changes) == (6, 1)
    assert indexer.sync().batches == 0  # nothing new
    with sessions.begin() as s:  # forget the checkpoint: the same range is read again
        s.execute(update(IndexCheckpoint).values(next_block=deployment.block_number))
    again = indexer.sync()
    assert again.batches == 6
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IndexedLeaf)) == 30
    index = ChainIndex(sessions, reg.address)
    leaves, _ = batches[0]
    assert [r.status for r in index.status_history(leaves[0])] == [LeafStatus.REVOKED]


def test_scan_halves_ranges_a_node_refuses(chain) -> None:
    reg, deployment, _, _ = chain
    asked: list[int] = []

    def strict_node(start: int, end: int):
        """A node (like many public RPC providers) limiting eth_getLogs to 4 blocks."""
        asked.append(end - start + 1)
        if end - start + 1 > 4:
            raise ChainUnavailableError("query exceeds max block range 4")
        return reg.events_in_range(start, end)

    head = int(reg.w3.eth.block_number)
    got = sum(len(e.batches) for _, _, e in scan(strict_node, deployment.block_number, head, 64))
    assert got == 6 and head - deployment.block_number + 1 > 8
    span = head - deployment.block_number + 1
    assert asked[0] == span and asked[1] == span // 2 and max(asked[2:]) <= 4


def test_replay_throughput_floor(w3: Web3, chain_config: ChainConfig) -> None:
    deployment, admin = fresh_registry(w3, chain_config)
    reg = registry_as(w3, deployment, admin)
    reg.register_issuer(admin.address, 330100)
    for _ in range(5):
        leaves = merkle.sorted_unique([os.urandom(32) for _ in range(1024)])
        reg.anchor(leaves, [os.urandom(32) for _ in leaves])
    t0 = time.perf_counter()
    history = read_history(reg, deployment.block_number)
    seconds = time.perf_counter() - t0
    assert history.events == 5 * 1024
    # the benchmark (bench/replay.py) measures the real figure; this only catches regressions
    assert history.events / seconds > 5_000, f"{history.events / seconds:.0f} events/s"


def test_concurrent_syncs_store_each_event_once(chain) -> None:
    """The API's background loop and a request share one indexer; a CLI process has its own
    indexer on the same database. Neither may fail or duplicate an event."""
    import threading

    from ledger_client.index import IndexedStatus

    reg, deployment, sessions, _ = chain
    shared = ChainIndexer(reg, sessions, start_block=deployment.block_number, max_range=1)
    other = ChainIndexer(reg, sessions, start_block=deployment.block_number, max_range=1)
    errors: list[BaseException] = []

    def run(indexer: ChainIndexer) -> None:
        try:
            indexer.sync()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (shared, shared, other, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IndexedLeaf)) == 30
        assert s.scalar(select(func.count()).select_from(IndexedStatus)) == 1
