"""`licledger bench consortium` in short (issue 21, point 6): three regions on three real
Clique nodes, counters verifying across regions while issuers issue; zero errors, every
acknowledged issuance anchored, each leaf once on the chain."""

from __future__ import annotations

import pytest

from bench.consortium import run

pytestmark = [pytest.mark.e2e, pytest.mark.network]


@pytest.mark.timeout(900)  # network start, 3 regions, 3 servers, settling: ~5 min loaded
def test_the_consortium_bench_verifies_across_regions_and_anchors_everything_once() -> None:
    figures = run(seconds=8, verifiers=4, issuers=2)
    assert figures["verify"]["requests"] > 0 and figures["acknowledged"] > 0, figures
    assert figures["zero_errors"], (figures["verify"], figures["issue"])
    assert figures["nothing_lost"], figures["by_region"]
    assert figures["anchored_once_each"], figures
    assert figures["nodes_in_step"], figures["conditions"]["node_heads_at_end"]
