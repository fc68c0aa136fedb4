"""The chain node fails under the service: killed between two state dumps, or just gone.

- ``kill -9`` of the node after it mined batches it had not dumped: it comes back without
  them; the anchoring worker notices the confirmed batches the chain no longer holds, anchors
  them again (exactly once), every licence verifies VALID again and the audit replay is clean;
- the node stopped: issuance is accepted and queued (PENDING, with a note), verification
  answers 503 "unreachable" (never a verdict guessed, never a 500), and everything catches up
  when the node is back.

The node here is this module's own, dumping its state only when stopped gracefully (so a kill
loses everything since the last stop), never the session's.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.api.app import create_app
from licence_service.audit.replay import replay
from licence_service.domain.states import BatchState, OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services import Amendment, amend_licence, issue_licence
from licence_service.services.issue import IssuedDocument
from licence_service.services.status import change_status
from licence_service.store.models import AnchorBatch, Licence, OutboxEntry
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving, staff
from tests.service_fixtures import business_request, qr_of, region_runtime
from tests.test_api import ISSUE_BODY
from verifier.verdicts import Verdict

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AnvilNode, Runtime]]:
    node = AnvilNode(
        NodeConfig(
            directory=tmp_path_factory.mktemp("outage-anvil"), port=free_port(), state_interval=3600
        )
    )
    node.start()
    try:
        rt = region_runtime(
            tmp_path_factory.mktemp("outage-region"), node,
            verify_burst=100_000, verify_rate_per_minute=1e6,
        )  # fmt: skip
        yield node, rt
    finally:
        node.stop()


def kill_node(node: AnvilNode) -> None:
    """``kill -9`` of the node's whole process group (the npm launcher and anvil itself,
    which is its child): the node dumps nothing."""
    pid = node.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # started in a session of its own: the group is its pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            break
        time.sleep(0.05)
    node.config.pid_file.unlink(missing_ok=True)


def _verdicts(rt: Runtime, docs: list[IssuedDocument]) -> list[str]:
    """The PDF and the QR verdict of each document, from a one-off verifier (syncs first)."""
    verifier = rt.verifier()
    out = []
    for doc in docs:
        out.append(str(verifier.verify_pdf(Path(doc.pdf_path).read_bytes()).verdict))
        out.append(str(verifier.verify_qr(qr_of(rt, doc.licence_id)).verdict))
    return out


def _missing_batches(rt: Runtime) -> int:
    """Batches recorded as confirmed whose root the chain does not hold under their id."""
    registry = rt.registry()
    with rt.sessions() as s:
        confirmed = s.execute(
            select(AnchorBatch.root, AnchorBatch.chain_batch_id).where(
                AnchorBatch.state == BatchState.CONFIRMED
            )
        ).all()
    return sum(registry.batch_id_of_root(root) != chain_id for root, chain_id in confirmed)


def _unanchored(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state != OutboxState.ANCHORED)
            )
            or 0
        )


def _leaf_counts_on_chain(rt: Runtime, docs: list[IssuedDocument]) -> list[int]:
    """How many times each document's leaf was anchored, read from the chain's events."""
    events = rt.registry().events_in_range(rt.deployment.block_number, rt.w3.eth.block_number)
    anchored = [leaf for batch in events.batches for leaf in batch.leaves]
    return [anchored.count(bytes.fromhex(doc.leaf)) for doc in docs]


def test_batches_a_killed_node_lost_are_anchored_again(
    outage: tuple[AnvilNode, Runtime],
) -> None:
    node, rt = outage
    kept = [issue_licence(rt, business_request()) for _ in range(3)]
    node.stop()  # graceful: dumped, so these survive
    node.start()
    lost = [issue_licence(rt, business_request()) for _ in range(4)]
    # a revocation of a kept licence, one of a lost one, and an amendment (its new version and
    # the on-chain link to it): all mined, recorded, then lost with the node
    change_status(rt, kept[0].licence_id, LeafStatus.REVOKED, 1, "revoked, then lost")
    change_status(rt, lost[0].licence_id, LeafStatus.REVOKED, 1, "revoked, then lost")
    amended = amend_licence(rt, kept[1].licence_id, Amendment({"注册资本": "900万元"}, "change"))
    head = rt.w3.eth.block_number
    kill_node(node)  # after it mined the four batches, before any dump
    node.start()
    assert rt.w3.eth.block_number < head
    missing = _missing_batches(rt)
    assert missing >= len(lost)  # the loss is real: recorded as confirmed, gone from the chain
    assert "VALID" not in _verdicts(rt, lost)[::2]  # their PDFs no longer verify
    assert _verdicts(rt, kept[:1]) == ["VALID", "VALID"]  # the revocation is gone too

    stop = threading.Event()
    worker = threading.Thread(target=AnchorWorker(rt).run, args=(stop, 0.2), daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        deadline = started + 30
        while _missing_batches(rt) or _unanchored(rt):
            assert time.monotonic() < deadline, "the lost batches were not anchored again"
            time.sleep(0.1)
        took = time.monotonic() - started
    finally:
        stop.set()
        worker.join(10)
    verdicts = _verdicts(rt, kept + lost + [amended])
    counts = _leaf_counts_on_chain(rt, kept + lost + [amended])
    result = replay(rt)
    print(
        f"\nnode killed: {len(kept) + len(lost) + 1} licences acknowledged, {missing} confirmed "
        f"batches lost by the node, re-anchored in {took:.1f} s; leaves on chain once: "
        f"{counts.count(1)}/{len(counts)}; verdicts (PDF and QR) {dict(Counter(verdicts))}; "
        f"replay discrepancies: {len(result.discrepancies)}"
    )
    revoked, superseded = ["REVOKED"] * 2, ["SUPERSEDED"] * 2
    assert verdicts == revoked + superseded + ["VALID"] * 2 + revoked + ["VALID"] * 8
    assert counts == [1] * len(counts)  # exactly once, the kept ones not again
    assert result.consistent, result.discrepancies


def _verify(c: httpx.Client, what: str, value: bytes | str, direct: bool = False) -> httpx.Response:
    params = {"direct": "true"} if direct else {}
    if what == "pdf":
        return c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", value)}, params=params)
    return c.post("/api/v1/verify/qr", json={"payload": value}, params=params)


def _unreachable(r: httpx.Response) -> bool:
    """A 503 that says the chain cannot be reached, with no traceback in it."""
    return (
        r.status_code == 503 and "unreachable" in r.json()["detail"] and "Traceback" not in r.text
    )


def test_chain_unreachable_queues_issuance_and_never_guesses_a_verdict(
    outage: tuple[AnvilNode, Runtime],
) -> None:
    node, rt = outage
    issuer = staff(rt, "-outage")["issuer"]
    with serving(create_app(rt), free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        before = c.post("/api/v1/licences", json=ISSUE_BODY, headers=issuer).json()
        assert before["anchored"]
        pdf_before = c.get(before["pdf_url"], headers=issuer).content
        qr_before = qr_of(rt, before["licence_id"])

        node.stop()
        down = time.monotonic()
        with rt.sessions() as s:
            licences = int(s.scalar(select(func.count()).select_from(Licence)) or 0)
        headers = {**issuer, "Idempotency-Key": "issued-while-the-chain-is-down"}
        queued = c.post("/api/v1/licences", json=ISSUE_BODY, headers=headers)
        assert queued.status_code == 201, queued.text
        assert not queued.json()["anchored"] and "PENDING" in queued.json()["note"]
        retried = c.post("/api/v1/licences", json=ISSUE_BODY, headers=headers)
        assert retried.status_code == 201 and retried.json() == queued.json()
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Licence)) == licences + 1
        pending = queued.json()
        pdf_pending = c.get(pending["pdf_url"], headers=issuer).content
        qr_pending = qr_of(rt, pending["licence_id"])

        # the view from before the outage answers VALID (as of its block) within the freshness
        # bound; past it, the chain is unreachable: 503, never a verdict guessed
        cached = 0
        while not _unreachable(r := _verify(c, "pdf", pdf_before)):
            assert r.status_code == 200 and r.json()["verdict"] == "VALID", r.text
            assert int(r.headers["X-Index-Block"]) > 0
            cached += 1
            assert time.monotonic() - down < 15, "still answering from the old view"
            time.sleep(0.2)
        stale_for = time.monotonic() - down
        answers = [
            _verify(c, "pdf", pdf_pending), _verify(c, "qr", qr_pending),
            _verify(c, "qr", qr_before), _verify(c, "pdf", pdf_before, direct=True),
            _verify(c, "qr", qr_pending, direct=True),
        ]  # fmt: skip
        assert all(_unreachable(r) for r in answers), [(r.status_code, r.text) for r in answers]
        health = c.get("/api/v1/health").json()
        assert health["status"] == "degraded"

        node.start()
        back = time.monotonic()
        lid = pending["licence_id"]
        while (
            c.get(f"/api/v1/licences/{lid}", headers=issuer).json()["versions"][0]["anchor_state"]
            != "anchored"
        ):
            assert time.monotonic() - back < 30, "the queued licence was not anchored"
            time.sleep(0.2)
        caught_up = time.monotonic() - back
        verdicts = [
            _verify(c, "pdf", pdf_pending).json()["verdict"],
            _verify(c, "qr", qr_pending).json()["verdict"],
            _verify(c, "pdf", pdf_before).json()["verdict"],
            _verify(c, "qr", qr_before).json()["verdict"],
        ]
    print(
        f"\nchain down: issuance queued (201, PENDING); {cached} cached VALID answers for "
        f"{stale_for:.1f} s, then 503 'unreachable' for {len(answers)} of {len(answers)} "
        f"checks; caught up {caught_up:.1f} s after the node returned; verdicts {verdicts}"
    )
    assert verdicts == [str(Verdict.VALID)] * 4
