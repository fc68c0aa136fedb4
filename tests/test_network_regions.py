"""Each region on its own node of a real multi-node network (issue 21, point 3).

Three Clique signer nodes of @ethereumjs/client (2 s blocks), regions A 杭州, B 深圳 and
C 北京 on nodes 0, 1 and 2; A and B list the other nodes after their own to fail over to, C
lists only its own. With A's node stopped, B still verifies A's licences from its own node and
A's issuance anchors through the next node; with C's node stopped, C's issuance answers PENDING
and anchors once the node is back. At the end the chain itself is counted: every licence
acknowledged is anchored, each exactly once, and the auditor's replay of each region is clean.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_client.connection import BoundedLogsProvider
from ledger_client.network import CliqueNetwork
from licence_service.anchoring.worker import wait_anchored
from licence_service.audit.history import read_history
from licence_service.audit.replay import replay
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import PENDING_NOTE
from tests.federation_fixtures import Consortium, build_consortium
from tests.network_fixtures import (
    CLIQUE_CONFIRMATIONS,
    anchored_counts,
    london_artifacts,
    region_urls,
    running_network,
)
from tests.service_fixtures import business_request
from verifier.verdicts import Verdict, VerificationResult

pytestmark = [pytest.mark.e2e, pytest.mark.network]

ANCHOR_TIMEOUT = 180.0  # seconds: 2 s blocks, 2 confirmations, a node that rejoins slowly


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, CliqueNetwork]]:
    root = tmp_path_factory.mktemp("network-regions")
    with london_artifacts(), running_network(root / "network") as net:
        urls = {
            "A": region_urls(net, 0),
            "B": region_urls(net, 1),
            "C": region_urls(net, 2, failover=False),
        }
        settings = {"confirmations": CLIQUE_CONFIRMATIONS, "receipt_timeout": 120.0}
        consortium = build_consortium(
            root / "regions", urls["A"], net.config.rpc_port, rpc_urls=urls,
            A=settings, B=settings, C=settings,
        )  # fmt: skip
        yield consortium, net


def _verify(rt: Runtime, pdf: Path) -> VerificationResult:
    return rt.verifier().verify_pdf(pdf.read_bytes())


def _verdict_within(rt: Runtime, pdf: Path, timeout: float = 60.0) -> Verdict:
    """The verdict once the verifying region's node has the batch ``confirmations`` deep (a
    node may lag its peers a few blocks)."""
    deadline = time.monotonic() + timeout
    while True:
        result = _verify(rt, pdf)
        if result.verdict is Verdict.VALID or time.monotonic() > deadline:
            return result.verdict
        time.sleep(1.0)


def test_a_region_down_leaves_the_others_verifying_and_loses_nothing(
    regions: tuple[Consortium, CliqueNetwork],
) -> None:
    consortium, net = regions
    a, b, c = consortium.a, consortium.b, consortium.c
    acknowledged = []

    before = issue_licence(a, business_request(), timeout=ANCHOR_TIMEOUT)
    assert before.anchored, before.extra
    acknowledged.append(before.leaf)
    assert _verdict_within(b, before.pdf_path) is Verdict.VALID

    # A's node stops: B verifies A's licence from its own node; A fails over and anchors.
    assert net.stop_node(0)
    assert _verify(b, before.pdf_path).verdict is Verdict.VALID
    during = issue_licence(a, business_request(), timeout=ANCHOR_TIMEOUT)
    assert during.anchored, during.extra
    acknowledged.append(during.leaf)
    provider = a.w3.provider
    assert isinstance(provider, BoundedLogsProvider) and provider.endpoint_uri != net.rpc_urls[0]
    assert _verdict_within(b, during.pdf_path) is Verdict.VALID
    assert net.start_node(0)
    net.converge(timeout=180)

    # C's node stops, and C has no other: its issuance is recorded and answers PENDING ...
    assert net.stop_node(2)
    pending = issue_licence(c, business_request(), timeout=30)
    assert not pending.anchored and PENDING_NOTE in pending.extra["note"], pending.extra
    acknowledged.append(pending.leaf)
    assert _verify(a, before.pdf_path).verdict is Verdict.VALID  # A reads its own node again
    # ... and anchors once the node is back.
    assert net.start_node(2)
    net.converge(timeout=180)
    wait_anchored(c, [bytes.fromhex(pending.leaf)], timeout=ANCHOR_TIMEOUT)
    assert _verdict_within(a, pending.pdf_path) is Verdict.VALID
    assert _verdict_within(b, pending.pdf_path) is Verdict.VALID

    # The chain's own count: every acknowledged licence anchored, none twice.
    batches, leaves, distinct = anchored_counts(b)
    assert leaves == distinct, f"{leaves - distinct} leaves anchored more than once"
    on_chain = {leaf.hex() for leaf in read_history(b.registry(), b.deployment.block_number).leaves}
    assert set(acknowledged) <= on_chain
    for rt in (a, b, c):
        result = replay(rt)
        assert result.consistent, result.discrepancies
    print(f"network regions: {batches} batches, {leaves} leaves anchored once each")
