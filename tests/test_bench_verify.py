"""The verification benchmark in its quick mode: demo data, a real `licledger serve`, wrk (or
the Python load generator) at 1, 8 and 32 clients.

Floors are an order of magnitude under what this 2-core machine measures while other test
suites run beside it (QR ~300/s and PDF ~200/s at 32 clients with two workers; one worker, as
the suite runs servers, about half): a 10x regression (say, a trust store rebuilt or a chain
round trip per request again) fails, machine noise does not.
"""

from __future__ import annotations

import pytest

from bench import verify

pytestmark = pytest.mark.e2e

FLOORS = {"qr_per_s_1": 10.0, "qr_per_s_32": 30.0, "pdf_per_s_1": 2.0, "pdf_per_s_32": 2.0}


def test_quick_verify_benchmark() -> None:
    figures = verify.run(quick=True)  # raises if any request failed or a sample was not VALID
    for kind in ("qr", "pdf"):
        for clients in verify.CONCURRENCY:
            for figure in ("per_s", "p50_ms", "p99_ms"):
                assert figures[f"{kind}_{figure}_{clients}"] > 0, (kind, figure, clients)
    low = {k: (figures[k], floor) for k, floor in FLOORS.items() if figures[k] < floor}
    assert not low, f"throughput under the floors (measured, floor): {low}; all: {figures}"
