"""The confirmations setting and the index's fork search, without a chain (issue 21, point 4).

The reorganisations themselves run on a real node in ``tests/test_reorg.py``; here the rules:
``LICLEDGER_CONFIRMATIONS`` is checked at start, naming the variable, and the walk back
through kept block hashes finds the first block to read again for every shape of fork.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from ledger_client import index_reorg
from ledger_client.index import ChainIndex, IndexBase, IndexCheckpoint
from ledger_client.index_tables import IndexedBlock
from licence_service.region.settings import ConfigError, load_settings

pytestmark = pytest.mark.unit

CONTRACT = "0x" + "ab" * 20


def _sessions() -> sessionmaker[Session]:
    engine = create_engine("sqlite://")
    IndexBase.metadata.create_all(engine)
    return sessionmaker(engine)


def test_confirmations_default_to_immediate_finality_and_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings("/tmp/nowhere").confirmations == 0
    monkeypatch.setenv("LICLEDGER_CONFIRMATIONS", "3")
    assert load_settings("/tmp/nowhere").confirmations == 3


@pytest.mark.parametrize("raw", ["-1", "65", "two", "1.5"])
def test_a_confirmations_value_that_cannot_work_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("LICLEDGER_CONFIRMATIONS", raw)
    with pytest.raises(ConfigError, match="LICLEDGER_CONFIRMATIONS"):
        load_settings("/tmp/nowhere")


def _kept(sessions: sessionmaker[Session], blocks: dict[int, bytes]) -> None:
    with sessions.begin() as s:
        for number, hash_ in sorted(blocks.items()):
            index_reorg.remember(s, CONTRACT, number, hash_)


def _fork(sessions: sessionmaker[Session], chain: dict[int, bytes], start: int = 0) -> int | None:
    with sessions() as s:
        return index_reorg.fork_point(s, CONTRACT, chain.get, start)


def test_the_fork_point_is_after_the_newest_kept_block_the_chain_still_has() -> None:
    sessions = _sessions()
    kept = {n: bytes([n]) * 32 for n in (10, 20, 25, 30)}
    _kept(sessions, kept)
    assert _fork(sessions, dict(kept)) is None  # nothing changed
    assert _fork(sessions, {**kept, 30: b"\x99" * 32}) == 26  # the newest replaced
    assert _fork(sessions, {10: kept[10], 20: kept[20]}) == 21  # the chain went back
    assert _fork(sessions, {n: b"\x77" * 32 for n in kept}, start=5) == 5  # deeper than kept


def test_only_the_newest_block_hashes_are_kept_and_a_rewind_forgets_the_later_ones() -> None:
    sessions = _sessions()
    _kept(sessions, {n: n.to_bytes(32, "big") for n in range(1, index_reorg.KEEP_BLOCKS + 11)})
    with sessions() as s:
        kept = s.scalars(select(IndexedBlock.block_number).order_by(IndexedBlock.block_number))
        numbers = list(kept)
    assert numbers == list(range(11, index_reorg.KEEP_BLOCKS + 11))
    with sessions.begin() as s:
        index_reorg.forget(s, CONTRACT, 40)
        assert index_reorg.tip_hash(s, CONTRACT, 40) == (39).to_bytes(32, "big")
        assert index_reorg.tip_hash(s, CONTRACT, 41) is None


def test_a_batch_counts_only_once_its_block_has_the_confirmations() -> None:
    sessions = _sessions()
    with sessions.begin() as s:
        s.add(IndexCheckpoint(contract=CONTRACT, next_block=101))  # head 100 indexed
    assert ChainIndex(sessions, CONTRACT).final_block() is None  # 0: everything counts
    assert ChainIndex(sessions, CONTRACT, confirmations=2).final_block() == 98
