"""What counting verifications costs the counter (issue 22, point 1: the supervisor's
verification counts must keep QR figures within 5 % of before).

Both sides answer the same QR codes of one imported region in the same process: *before* is
the verifier alone (``VerifyingState.verify_qr``, what every entry point called before the
counts existed), *after* is the use case every entry point calls now
(``services.verify.verify_qr``: the same answer, then counted in memory). In process is the
strictest place to look: over HTTP the same few microseconds hide in a larger time.

On a shared machine a single pair of figures swings with the load, so the two sides take
turns in short rounds (the order flipped every other round) and the headline is the median
of the per-round ratios: a load spike falls on both sides of one round alike.
``python -m bench.counting [--quick] [--json]``; ``licledger bench counting``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bench.region import bench_region, machine
from bench.suite_regions import import_rate, rate, turns, valid_payloads
from licence_service.audit.verify_counts import counter_of
from licence_service.region.runtime import Runtime
from licence_service.services.verify import verify_qr
from licence_service.store.reads import VerificationCount

TARGET = 1.05  # time per QR verification, counted / uncounted, at most
SIDES = ("before", "after")


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float  # per side and round
    rows: int


QUICK = Plan(rounds=6, seconds=0.25, rows=16)
FULL = Plan(rounds=30, seconds=1.0, rows=64)


def _checker(rt: Runtime, payloads: list[str], side: str) -> Any:
    state = {"i": 0}
    verifying = rt.verifying

    def before() -> None:
        verifying.verify_qr(payloads[state["i"] % len(payloads)])
        state["i"] += 1

    def after() -> None:
        verify_qr(rt, payloads[state["i"] % len(payloads)])
        state["i"] += 1

    return before if side == "before" else after


def measure(rt: Runtime, payloads: list[str], plan: Plan) -> dict[str, Any]:
    """Per-round rates of both sides and the median ratio of their times."""
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    for r in range(plan.rounds):
        for side in turns(SIDES, r):
            rates[side].append(rate(_checker(rt, payloads, side), plan.seconds))
    ratios = [b / a for b, a in zip(rates["before"], rates["after"], strict=True)]
    counter = counter_of(rt, rt.sessions)
    result = rt.verifying.verify_qr(payloads[0])
    calls = 20_000
    started = time.perf_counter()
    for _ in range(calls):
        counter.count(result, "bench")
    count_us = (time.perf_counter() - started) / calls * 1e6
    counter.flush()
    with rt.sessions() as s:
        counted = s.scalar(select(func.sum(VerificationCount.count))) or 0
    return {
        "before_qr_per_s_median": round(statistics.median(rates["before"]), 1),
        "after_qr_per_s_median": round(statistics.median(rates["after"]), 1),
        "time_ratio_median": round(statistics.median(ratios), 4),
        "time_ratio_quartiles": [round(q, 4) for q in statistics.quantiles(ratios, n=4)],
        # the cost of counting alone, beside one uncounted verification's time
        "count_us": round(count_us, 2),
        "count_share_of_a_verification": round(
            count_us / (1e6 / statistics.median(rates["before"])), 5
        ),
        "verifications_counted": counted,  # proof that "after" did count
    }


def run(quick: bool = False, plan: Plan | None = None) -> dict[str, Any]:
    plan = plan or (QUICK if quick else FULL)
    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    with bench_region("intl", batch_size=1024) as rt:
        import_rate(rt, plan.rows, 0)
        payloads = valid_payloads(rt)
        figures = measure(rt, payloads, plan)
    figures["target_met"] = figures["time_ratio_median"] <= TARGET
    figures["conditions"] = {
        **machine(),
        "load_1min_before": load_before,
        "seconds": round(time.perf_counter() - started, 1),
        "rounds": plan.rounds,
        "seconds_per_side_and_round": plan.seconds,
        "licences": len(payloads),
        "target": f"median time ratio counted/uncounted <= {TARGET}",
    }
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.quick)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
