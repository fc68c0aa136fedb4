"""A network partition and its healing on a real multi-node network (issue 21, point 4).

Three Clique signers in the genesis, nodes of @ethereumjs/client (2 s blocks, two
confirmations), regions A 杭州, B 深圳 and C 北京 on nodes 0, 1 and 2; every pair of nodes talks
through a link of its own (tests/tcp_link.py). Nodes 0 and 1 seal in turn; node 2 follows
(with two of three signers sealing, only one may seal each block: no forks of their own).

The links of node 2 are cut while all three run, and node 2 is restarted, still cut off, as a
signer that seals only blocks with transactions. C revokes a licence and issues one: node 2
seals the one block a signer may seal alone (one of any two in a row) with C's transactions in
it, a block nodes 0 and 1 never see; C's service reads it (its index stores its hash, the
revocation's receipt comes from it). A and B go on without C, and A issues meanwhile. Then the
links are mended: node 2 takes the heavier chain and drops its own block, a reorganisation of
what C's service had read. C's service must notice, send what was lost again, and end with
every verdict right in every region, each leaf on the chain once, and a clean replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ledger_client.clique import block_signer
from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker, wait_anchored
from licence_service.audit.replay import replay
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument
from licence_service.services.status import change_status
from tests.federation_fixtures import Consortium, build_consortium
from tests.network_fixtures import (
    CLIQUE_CONFIRMATIONS,
    LinkedNetwork,
    anchored_counts,
    london_artifacts,
    region_urls,
    running_network,
)
from tests.service_fixtures import business_request
from verifier.verdicts import Verdict

pytestmark = [pytest.mark.e2e, pytest.mark.network]

ANCHOR_TIMEOUT = 180.0  # seconds: 2 s blocks, 2 confirmations, a node that rejoins slowly
T = TypeVar("T")


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, LinkedNetwork]]:
    root = tmp_path_factory.mktemp("network-partition")
    network = running_network(root / "network", linked=True, followers=[2])
    with london_artifacts(), network as net:
        assert isinstance(net, LinkedNetwork)
        urls = {
            "A": region_urls(net, 0),
            "B": region_urls(net, 1),
            "C": region_urls(net, 2, failover=False),  # cut off with its node
        }
        settings = {"confirmations": CLIQUE_CONFIRMATIONS, "receipt_timeout": 60.0}
        consortium = build_consortium(
            root / "regions", urls["A"], net.config.rpc_port, rpc_urls=urls,
            A=settings, B=settings, C=settings,
        )  # fmt: skip
        yield consortium, net


def _verdict(rt: Runtime, doc: IssuedDocument) -> Verdict:
    return rt.verifier().verify_pdf(Path(doc.pdf_path).read_bytes()).verdict


def _until(check: Callable[[], T], ok: Callable[[T], bool], timeout: float, step: float) -> T:
    """``check()`` again every ``step`` s until ``ok`` says yes or ``timeout`` passes; the last."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(step)


def test_a_partition_healed_leaves_every_verdict_right_and_nothing_twice(
    regions: tuple[Consortium, LinkedNetwork],
) -> None:
    consortium, net = regions
    a, b, c = consortium.a, consortium.b, consortium.c
    everyone = {"A": a, "B": b, "C": c}

    base = issue_licence(c, business_request(), timeout=ANCHOR_TIMEOUT)
    assert base.anchored, base.extra
    assert _until(lambda: _verdict(a, base), lambda v: v is Verdict.VALID, 60, 1) is Verdict.VALID

    # Node 2 is cut off, and comes back (still cut off) sealing; C revokes and issues at once.
    net.isolate(2)
    net.stop_node(2)
    net.start_node(2, seal=True, seal_empty=False)
    head = net.block(2)
    assert head is not None, "C's node does not answer"
    cut_at = int(head["number"], 16)
    with ThreadPoolExecutor(2) as pool:
        revoking: Future[Any] = pool.submit(
            change_status, c, base.licence_id, LeafStatus.REVOKED, 1, "revoked while cut off"
        )
        lone_future = pool.submit(issue_licence, c, business_request(), timeout=20)
        majority = issue_licence(a, business_request(), timeout=ANCHOR_TIMEOUT)
        lone = lone_future.result()
        try:
            revoked_alone = revoking.result() is not None
        except Exception as exc:  # not mined alone: the staff member is told, and tries again
            revoked_alone = False
            print(f"revocation while cut off: {type(exc).__name__}: {exc}")
    assert majority.anchored, majority.extra
    assert not lone.anchored  # two confirmations never come to a node alone
    c_own = net.block(2, cut_at + 1)
    assert c_own is not None, "C's node sealed no block of its own while cut off"
    assert block_signer(c_own) == net.layout()["nodes"][2]["signer"]
    lone_hash, lone_txs = c_own["hash"], len(c_own["transactions"])
    assert lone_txs >= 1, "C's own block holds none of its transactions"
    assert _verdict(b, majority) is Verdict.VALID
    assert _verdict(c, majority) is not Verdict.VALID  # C cannot see the majority's chain
    assert _verdict(c, lone) is Verdict.PENDING  # mined alone, never final
    assert _verdict(b, base) is Verdict.VALID  # the revocation never reached the others

    # The links are mended: C's node takes the heavier chain and drops its own block.
    net.rejoin(2)
    net.converge(timeout=180)
    replaced = net.block(2, cut_at + 1)
    assert replaced is not None and replaced["hash"] != lone_hash, "no reorganisation on C"
    if not revoked_alone:
        change_status(c, base.licence_id, LeafStatus.REVOKED, 1, "revoked after the partition")
    wait_anchored(c, [bytes.fromhex(lone.leaf)], timeout=ANCHOR_TIMEOUT)

    def verdicts() -> dict[str, tuple[Verdict, Verdict, Verdict]]:
        AnchorWorker(c).flush()  # restates a status change the reorganisation dropped
        return {
            name: (_verdict(rt, base), _verdict(rt, lone), _verdict(rt, majority))
            for name, rt in everyone.items()
        }

    expected = (Verdict.REVOKED, Verdict.VALID, Verdict.VALID)
    final = _until(verdicts, lambda v: all(x == expected for x in v.values()), 120, 2)
    assert final == dict.fromkeys(everyone, expected), final

    batches, leaves, distinct = anchored_counts(b)
    assert leaves == distinct, f"{leaves - distinct} leaves anchored more than once"
    for name, rt in everyone.items():
        result = replay(rt)
        assert result.consistent, (name, result.discrepancies)
    print(
        f"partition: C cut off after block {cut_at}, sealed block {cut_at + 1} alone "
        f"({lone_txs} transactions, revocation mined alone: {revoked_alone}), replaced on "
        f"healing; {batches} batches, {leaves} leaves anchored once each"
    )
