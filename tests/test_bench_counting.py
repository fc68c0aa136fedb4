"""Issue 22 point 1, the quick regression floor of `licledger bench counting` (the full bench is
``python -m bench.counting``): counting a verification for the supervisor's statistics must not
slow the counter. The robust figure is the cost of one count beside one verification (~1 % on
this shared machine, ~0.2 % quiet); the floor only catches a count that does I/O again."""

from __future__ import annotations

import pytest

from bench import counting

COUNT_SHARE_CEILING = 0.05  # one count's time / one uncounted QR verification's time


@pytest.mark.e2e
def test_counting_costs_the_counter_almost_nothing() -> None:
    figures = counting.run(plan=counting.Plan(pairs=300, rows=4))
    assert figures["before_qr_us_mean"] > 0 and figures["after_qr_us_mean"] > 0
    assert figures["verifications_counted"] > 0, "the counted side did not count"
    assert figures["count_share_of_a_verification"] <= COUNT_SHARE_CEILING, figures
    assert "load_1min_before" in figures["conditions"]


@pytest.mark.unit
def test_the_headline_ratio_weighs_every_call_and_drops_a_burst() -> None:
    before = [1.0] * 1000
    after = [1.02] * 1000
    after[10] += 50.0  # one stall of another job, landed on the counted side
    assert counting.block_ratio(before, after) == 1.02  # the mean's ratio would be 1.07
    assert counting.block_ratio(before, [1.1] * 1000) == 1.1  # a real 10 % is not hidden
