"""A short run of `licledger bench blocks` (issue 21, point 5), so the benchmark keeps working:
on a node mining every 0.5 s with one confirmation, every licence issued reaches VALID, nothing
is left unanchored, and the median wait is at least the one block that must be on top (the
figures of ARCHITECTURE.md come from the full run at 2 s; the finality rules themselves are
tested in tests/test_reorg.py)."""

from __future__ import annotations

import pytest

from bench.blocks import run

pytestmark = pytest.mark.e2e

BLOCK = 0.5


def test_short_block_time_benchmark_reaches_valid_after_its_confirmation() -> None:
    figures = run(quick=True, block_time=BLOCK, confirmations=1, licences=16)
    assert figures["anchored_licences"] == 16 and figures["anchoring_licences_per_s"] > 0
    assert figures["time_to_valid_n"] == 16 and figures["left_unanchored"] == 0
    # mined in the next block, final one block later: never sooner than one block time
    assert figures["time_to_valid_p50_s"] >= BLOCK, figures
    assert figures["conditions"]["confirmations"] == 1
