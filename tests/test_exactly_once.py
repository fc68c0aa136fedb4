"""Issue 25.2: keyed issuance is exactly-once under concurrency, retries and dropped connections.

16 clients on two `licledger serve` instances × 2 workers on one PostgreSQL, 6 requests each
(``wait`` true: every request anchors, so request workers and the anchoring worker of both
instances sign for the same agency account at once). Every 4th first attempt drops its
connection after 0.3 s; after any error or drop the request is sent once more with its key to
the other instance, and at the end every key is asked once more. Before the fix: 502 ``nonce
too low`` and 409 ``BatchAlreadyAnchored`` answers, and a retry after them issued a second
licence to the same holder.
"""

from __future__ import annotations

import pytest

from bench.abuse_issuance import run

pytestmark = pytest.mark.e2e


def test_concurrent_keyed_issuance_on_two_instances_is_exactly_once() -> None:
    figures = run(clients=16, requests=6, workers=2)
    print(figures)
    assert figures["errors"] == 0, figures["first_errors"]
    assert figures["retried"] > 0  # the drops happened: retries were exercised
    assert figures["duplicates"] == 0
    assert figures["holders_without_licence"] == 0
    assert figures["licences"] == figures["requests"]
    assert figures["keys_with_one_answer"] == figures["requests"]
    assert figures["answered_ids_recorded"]
    assert figures["anchored"] == figures["requests"]
