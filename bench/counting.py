"""What counting verifications costs the counter (issue 22, point 1: the supervisor's
verification counts must keep QR figures within 5 % of before).

Both sides answer the same QR codes of one imported region in the same process: *before* is
the verifier alone (``VerifyingState.verify_qr``, what every entry point called before the
counts existed), *after* is the use case every entry point calls now
(``services.verify.verify_qr``: the same answer, then counted in memory). In process is the
strictest place to look: over HTTP the same few microseconds hide in a larger time.

On a shared machine two separate runs swing with the load by far more than 5 %, so the two
sides alternate call by call (the order flipped every pair) and each call is timed: a load
spike then falls on both sides alike. The headline (``time_ratio``) is the median, over 20
blocks of consecutive pairs, of each block's ratio of total times (``block_ratio``); the
ratios of the mean and of the median call are printed beside it.
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
from bench.suite_regions import import_rate, turns, valid_payloads
from licence_service.audit.verify_counts import counter_of
from licence_service.region.runtime import Runtime
from licence_service.services.verify import verify_qr
from licence_service.store.reads import VerificationCount

TARGET = 1.05  # time per QR verification, counted / uncounted, at most
SIDES = ("before", "after")


@dataclass(frozen=True)
class Plan:
    pairs: int  # one uncounted and one counted verification each
    rows: int


QUICK = Plan(pairs=1500, rows=16)
FULL = Plan(pairs=30_000, rows=64)


def measure(rt: Runtime, payloads: list[str], plan: Plan) -> dict[str, Any]:
    """Both sides call after call (the order flipped every pair), each call timed: the ratio
    of their mean and of their median times, and the cost of one count alone."""
    verifying, clock = rt.verifying, time.perf_counter
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    for i in range(plan.pairs):
        payload = payloads[i % len(payloads)]
        for side in turns(SIDES, i):
            started = clock()
            if side == "before":
                verifying.verify_qr(payload)
            else:
                verify_qr(rt, payload)
            times[side].append(clock() - started)
    counter = counter_of(rt, rt.sessions)
    result = verifying.verify_qr(payloads[0])
    calls = 20_000
    started = clock()
    for _ in range(calls):
        counter.count(result, "bench")
    count_us = (clock() - started) / calls * 1e6
    counter.flush()
    with rt.sessions() as s:
        counted = s.scalar(select(func.sum(VerificationCount.count))) or 0
    before, after = times["before"], times["after"]
    return {
        "time_ratio": block_ratio(before, after),
        "before_qr_us_mean": round(statistics.fmean(before) * 1e6, 1),
        "after_qr_us_mean": round(statistics.fmean(after) * 1e6, 1),
        "time_ratio_mean": round(statistics.fmean(after) / statistics.fmean(before), 4),
        "time_ratio_median": round(statistics.median(after) / statistics.median(before), 4),
        # the cost of counting alone, beside one uncounted verification's time
        "count_us": round(count_us, 2),
        "count_share_of_a_verification": round(count_us / (statistics.median(before) * 1e6), 5),
        "verifications_counted": counted,  # proof that "after" did count
    }


def block_ratio(before: list[float], after: list[float], blocks: int = 20) -> float:
    """The median over consecutive blocks of pairs of (time counted / time uncounted) in the
    block: each block's ratio is of sums, so it weighs every call as the mean does, and the
    median over blocks drops the few blocks in which another job's burst on this shared
    machine landed on one side (a single 50 ms stall moves a 1,500-pair mean by 5 %)."""
    size = max(len(before) // blocks, 1)
    ratios = [
        sum(after[i : i + size]) / sum(before[i : i + size])
        for i in range(0, len(before) - size + 1, size)
    ]
    return round(statistics.median(ratios), 4)


def run(quick: bool = False, plan: Plan | None = None) -> dict[str, Any]:
    plan = plan or (QUICK if quick else FULL)
    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    with bench_region("intl", batch_size=1024) as rt:
        import_rate(rt, plan.rows, 0)
        payloads = valid_payloads(rt)
        figures = measure(rt, payloads, plan)
    figures["target_met"] = figures["time_ratio"] <= TARGET
    figures["conditions"] = {
        **machine(),
        "load_1min_before": load_before,
        "seconds": round(time.perf_counter() - started, 1),
        "pairs": plan.pairs,
        "licences": len(payloads),
        "target": f"time counted/uncounted (median of 20 blocks' ratios) <= {TARGET}",
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
