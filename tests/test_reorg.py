"""A genuine reorganisation of recent blocks under the service (issue 21, point 4).

anvil's ``anvil_reorg(depth, txs)`` replaces the newest ``depth`` blocks with new ones at the
same height (only the given transactions in them): the head number does not go back, only
the blocks' hashes change, and every transaction of the orphaned blocks is gone from the
chain (no receipt, the account nonces back). That is what a Clique network healing from a
partition does to the losing side. Here it drops anchoring transactions:

- ``LICLEDGER_CONFIRMATIONS=0`` (QBFT's immediate finality): the batches were confirmed; the
  index notices the reorganisation by its stored block hashes and forgets them, the licences
  answer PENDING (never VALID), the worker anchors them again (once), they answer VALID and
  the auditor's replay is clean;
- a revocation whose block is replaced: the chain says ACTIVE again (verifiers follow the
  chain), the worker notices the newest change's transaction is gone and sends it again;
- ``LICLEDGER_CONFIRMATIONS=2``: a mined batch is PENDING until two blocks are on top of it;
  a reorganisation that drops it leaves it PENDING, the worker sends its stored transaction
  again, and it is VALID only once final.

The node is this module's own (instant mining), never the session's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.audit.replay import replay
from licence_service.domain.states import BatchState, OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument
from licence_service.services.status import change_status
from licence_service.store.models import AnchorBatch, OutboxEntry
from tests.chain_fixtures import free_port
from tests.service_fixtures import business_request, qr_of, region_runtime

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    anvil = AnvilNode(
        NodeConfig(directory=tmp_path_factory.mktemp("reorg-anvil"), port=free_port(),
                   state_interval=86_400)
    )  # fmt: skip
    anvil.start()
    try:
        yield anvil
    finally:
        anvil.stop()


def _rpc(rt: Runtime, method: str, params: list[Any]) -> Any:
    """A test-only node call (anvil's reorganisation and mining)."""
    answer = rt.w3.provider.make_request(method, params)  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer.get("result")


def _reorg(rt: Runtime, depth: int) -> None:
    """Replace the newest ``depth`` blocks with empty ones at the same height."""
    head = rt.w3.eth.block_number
    before = rt.w3.eth.get_block(head)["hash"]
    _rpc(rt, "anvil_reorg", [depth, []])
    assert rt.w3.eth.block_number == head  # same height ...
    assert rt.w3.eth.get_block(head)["hash"] != before  # ... other blocks


def _verdicts(rt: Runtime, docs: list[IssuedDocument]) -> list[str]:
    """The PDF and the QR verdict of each document from a one-off verifier (it syncs the
    index first) and from the server's kept verifier (refreshed now)."""
    one_off = rt.verifier()
    rt.verifying.refresh(float("inf"))
    out = []
    for doc in docs:
        pdf = Path(doc.pdf_path).read_bytes()
        out.append(str(one_off.verify_pdf(pdf).verdict))
        out.append(str(one_off.verify_qr(qr_of(rt, doc.licence_id)).verdict))
        out.append(str(rt.verifying.verify_pdf(pdf).verdict))
    return out


def _batch_blocks(rt: Runtime, docs: list[IssuedDocument]) -> list[int]:
    with rt.sessions() as s:
        return [
            int(
                s.scalar(
                    select(AnchorBatch.block_number)
                    .join(OutboxEntry, OutboxEntry.batch_id == AnchorBatch.id)
                    .where(OutboxEntry.leaf == bytes.fromhex(d.leaf))
                )
                or 0
            )
            for d in docs
        ]


def _states(rt: Runtime, docs: list[IssuedDocument]) -> set[str]:
    with rt.sessions() as s:
        return {
            str(
                s.scalar(select(OutboxEntry.state).where(OutboxEntry.leaf == bytes.fromhex(d.leaf)))
            )
            for d in docs
        }


def _on_chain(rt: Runtime, docs: list[IssuedDocument]) -> list[int]:
    """How many times each document's leaf is anchored on the chain as it is now."""
    events = rt.registry().events_in_range(rt.deployment.block_number, rt.w3.eth.block_number)
    anchored = [leaf for batch in events.batches for leaf in batch.leaves]
    return [anchored.count(bytes.fromhex(d.leaf)) for d in docs]


def _unanchored(rt: Runtime) -> int:
    with rt.sessions() as s:
        rows = s.scalars(select(OutboxEntry.state)).all()
    return sum(state != OutboxState.ANCHORED for state in rows)


def _anchor_until_done(rt: Runtime, docs: list[IssuedDocument], rounds: int = 20) -> None:
    """Anchoring rounds (as the background worker runs them) until every document is on the
    chain again and recorded as anchored."""
    for _ in range(rounds):
        AnchorWorker(rt).flush()
        if _unanchored(rt) == 0 and 0 not in _on_chain(rt, docs):
            return
    raise AssertionError("the dropped batches were not anchored again")


def test_a_reorg_that_drops_confirmed_batches_never_leaves_a_wrong_verdict(
    node: AnvilNode, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rt = region_runtime(tmp_path_factory.mktemp("reorg-region"), node)
    assert rt.settings.confirmations == 0
    kept = [issue_licence(rt, business_request()) for _ in range(2)]
    dropped = [issue_licence(rt, business_request()) for _ in range(3)]
    assert _verdicts(rt, kept + dropped) == ["VALID"] * 15
    head = rt.w3.eth.block_number
    depth = head - min(_batch_blocks(rt, dropped)) + 1
    assert max(_batch_blocks(rt, kept)) < head - depth + 1  # the kept ones stay below it

    _reorg(rt, depth)
    assert _on_chain(rt, kept + dropped) == [1, 1, 0, 0, 0]  # the anchoring is really gone
    assert _verdicts(rt, kept) == ["VALID"] * 6
    assert _verdicts(rt, dropped) == ["PENDING"] * 9  # never VALID, never NOT_ANCHORED

    _anchor_until_done(rt, dropped)
    assert _on_chain(rt, kept + dropped) == [1] * 5  # anchored again, none twice
    assert _verdicts(rt, kept + dropped) == ["VALID"] * 15
    result = replay(rt)
    assert result.consistent, result.discrepancies


def test_a_revocation_a_reorg_dropped_is_sent_again(
    node: AnvilNode, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rt = region_runtime(tmp_path_factory.mktemp("reorg-status-region"), node)
    doc = issue_licence(rt, business_request())
    change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "revoked, then reorganised away")
    assert _verdicts(rt, [doc]) == ["REVOKED"] * 3
    _reorg(rt, 1)  # only the revocation's block: the batch stays
    assert _verdicts(rt, [doc]) == ["VALID"] * 3  # what the chain says now
    AnchorWorker(rt).flush()  # the newest change's transaction is gone: sent again
    assert _verdicts(rt, [doc]) == ["REVOKED"] * 3
    result = replay(rt)
    assert result.consistent, result.discrepancies


def test_with_confirmations_a_batch_is_pending_until_final_and_survives_a_reorg(
    node: AnvilNode, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("confirm-region")
    rt = Runtime(replace(region_runtime(home, node).settings, confirmations=2))
    doc = issue_licence(rt, business_request(), wait=False)
    AnchorWorker(rt).flush()  # sent and mined (instant mining), not final
    with rt.sessions() as s:
        batch = s.scalars(select(AnchorBatch).order_by(AnchorBatch.id.desc())).first()
        assert batch is not None and batch.state == BatchState.SENT and batch.block_number
    assert _on_chain(rt, [doc]) == [1]
    assert _verdicts(rt, [doc]) == ["PENDING"] * 3
    detail = rt.verifier().verify_pdf(Path(doc.pdf_path).read_bytes()).reason
    assert "not final" in detail, detail

    _reorg(rt, rt.w3.eth.block_number - batch.block_number + 1)
    assert _on_chain(rt, [doc]) == [0]
    assert _verdicts(rt, [doc]) == ["PENDING"] * 3

    AnchorWorker(rt).flush()  # its stored transaction sent again: mined, not final yet
    assert _on_chain(rt, [doc]) == [1]
    assert _verdicts(rt, [doc]) == ["PENDING"] * 3
    _rpc(rt, "anvil_mine", [2])  # two blocks on top of it
    AnchorWorker(rt).flush()
    assert _states(rt, [doc]) == {OutboxState.ANCHORED.value}
    assert _verdicts(rt, [doc]) == ["VALID"] * 3
    result = replay(rt)
    assert result.consistent, result.discrepancies
