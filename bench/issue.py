"""Benchmark of bulk issuance (issue 12, target 3): the naive pipeline and `licledger import`
measured in the same run, on the same machine, with the same credentials.

The bulk figure is end to end: CSV read and validated, every licence rendered, watermarked,
PAdES-signed, written durably, recorded in SQLite and anchored and confirmed on a local anvil
chain. ``python -m bench.issue [--rows N] [--quick] [--json]``; ``licledger bench issue``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

from bench.issue_data import write_csv
from bench.naive import run_naive
from bench.region import bench_region, machine
from licence_service.services.bulk_import import ImportOptions, RowResult, run_import

FULL_ROWS = 10_000
QUICK_ROWS = 60


def _peak_rss_mb() -> dict[str, float]:
    """Peak RSS of this process and of the largest finished child: called while the chain
    node still runs, so the children counted are the import's workers, not the node."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"parent": round(own, 1), "largest_worker": round(workers, 1)}


def run(
    quick: bool = False, rows: int | None = None, naive_rows: int | None = None
) -> dict[str, Any]:
    """Figures: ``licences_per_s`` (bulk import, end to end), ``naive_licences_per_s``,
    ``speedup``, ``peak_rss_mb`` (parent and largest worker), and the conditions."""
    rows = rows or (QUICK_ROWS if quick else FULL_ROWS)
    naive_rows = naive_rows or (10 if quick else 200)
    with bench_region(batch_size=1024) as rt:
        with rt.sessions() as s:
            agency = rt.agency(s)
        naive = run_naive(
            rt.agency_credentials(agency.code), rt.settings.home / "naive", naive_rows
        )
        csv_path = write_csv(rt.settings.home / "bulk.csv", rows)
        errors: list[RowResult] = []

        def sink(result: RowResult) -> None:
            if result.status == "error":
                errors.append(result)

        opts = ImportOptions("BL01", agency.code)
        summary = run_import(rt, csv_path, opts, sink)
        peak = _peak_rss_mb()
        if summary.issued != rows or errors:
            raise RuntimeError(f"bulk import issued {summary.issued} of {rows}: {errors[:3]}")
    rate = summary.licences_per_s
    return {
        "licences_per_s": round(rate, 1),
        "naive_licences_per_s": round(naive, 1),
        "speedup": round(rate / naive, 2),
        "peak_rss_mb": peak,
        "issue_only_licences_per_s": round(rows / summary.extra["issue_seconds"], 1),
        "rows": rows,
        "seconds": round(summary.seconds, 1),
        "conditions": {
            **machine(),
            "naive_rows": naive_rows,
            "workers": opts.workers or "one per core",
            "chunk_rows": opts.chunk,
            "anchor_batch": opts.anchor_batch,
            "licence_type": "BL01 (6 face fields)",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = run(args.quick, args.rows)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    c = figures["conditions"]
    print("Licence Ledger bulk issuance benchmark")
    print(f"  machine: {c['cores']} cores, {c['python']}, load {c['load_1min']} at the end")
    print(f"  {c['database']}; {c['chain']}; anchor batch {c['anchor_batch']}")
    print(f"  naive (reportlab + pyHanko default signer, one process, {c['naive_rows']} "
          f"licences): {figures['naive_licences_per_s']} licences/s")  # fmt: skip
    print(f"  bulk import ({figures['rows']} rows, end to end incl. anchoring): "
          f"{figures['licences_per_s']} licences/s; speed-up {figures['speedup']}x "
          f"(target >= 10x)")  # fmt: skip
    print(
        f"  peak RSS: {figures['peak_rss_mb']} MiB; run took {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
