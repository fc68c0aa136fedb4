"""Benchmark of verification at the counter, tried as a new user would: demo data on the
embedded defaults, ``licledger serve`` as a server process, and a separate load-generating
process on loopback POSTing ``/api/v1/verify/qr`` and ``/api/v1/verify/pdf`` at 1, 8 and 32
concurrent clients for a bounded time each.

``python -m bench.verify [--quick] [--json] [--workers N]``; ``run(quick)`` returns the figures
as a dict (``qr_per_s_32``, ``qr_p99_ms_32``, ``pdf_per_s_32``, …) for ``licledger bench``.
Every sample is checked VALID over HTTP before the load; a run with any failed or refused
request raises instead of reporting figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from bench.loadgen import Figures, Load, drive, generator, pdf_load, qr_load
from bench.verify_server import (
    chain_down,
    check_verdicts,
    make_demo,
    remove,
    serving,
    supports_workers,
)

CONCURRENCY = (1, 8, 32)


def _measure(url: str, name: str, load: Load, seconds: float, into: dict[str, float]) -> None:
    drive(url, load, 4, min(1.0, seconds))  # warm every worker's caches and connections
    for c in CONCURRENCY:
        fig: Figures = drive(url, load, c, seconds)
        if fig.errors:
            raise RuntimeError(
                f"{name} at {c} clients: {fig.errors} of {fig.requests} requests failed or "
                "were refused; the figures would not be verification throughput"
            )
        into[f"{name}_per_s_{c}"] = round(fig.per_s, 1)
        into[f"{name}_p50_ms_{c}"] = round(fig.p50_ms, 2)
        into[f"{name}_p99_ms_{c}"] = round(fig.p99_ms, 2)


def measure(
    quick: bool = False, workers: int | None = None
) -> tuple[dict[str, float], dict[str, Any]]:
    """(figures, conditions) of one run on its own temporary region."""
    seconds = 1.0 if quick else 8.0
    count = 6 if quick else 20  # the demo changes its 2nd-6th licences; the rest stay VALID
    home = tempfile.mkdtemp(prefix="licledger-bench-verify-")
    region, samples = make_demo(Path(home), count)
    figures: dict[str, float] = {}
    use_workers = workers if supports_workers() else None
    try:
        with serving(region, use_workers) as server:
            check_verdicts(server.url, samples)
            _measure(server.url, "qr", qr_load(samples.qr_payloads), seconds, figures)
            _measure(server.url, "pdf", pdf_load(samples.pdfs), seconds, figures)
    finally:
        chain_down(region)
        remove(Path(home))
    conditions = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "server": "licledger serve (uvicorn)",
        "workers": _workers(use_workers),
        "database": "SQLite file in a temporary data directory",
        "chain": "embedded anvil node on loopback",
        "load generator": generator(),
        "seconds per figure": seconds,
        "samples": f"{len(samples.pdfs)} valid demo licences (PDF ~{_kib(samples.pdfs)} KiB)",
    }
    return figures, conditions


def _workers(chosen: int | None) -> str:
    if chosen is not None:
        return str(chosen)
    try:
        from licence_service.api.workers import default_workers
    except ImportError:  # a server from before --workers: one process
        return "1 (serve has no --workers)"
    return f"{default_workers()} (serve's default)"


def _kib(pdfs: list[bytes]) -> int:
    return round(sum(map(len, pdfs)) / max(1, len(pdfs)) / 1024)


def run(quick: bool = False) -> dict[str, float]:
    """The figures, for ``licledger bench verify``."""
    return measure(quick)[0]


def report(figures: dict[str, float], conditions: dict[str, Any]) -> str:
    lines = ["conditions: " + "; ".join(f"{k}: {v}" for k, v in conditions.items())]
    lines.append(f"{'':6}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name in ("qr", "pdf"):
        for c in CONCURRENCY:
            lines.append(
                f"{name:6}{c:>8}{figures[f'{name}_per_s_{c}']:>10.1f}"
                f"{figures[f'{name}_p50_ms_{c}']:>10.2f}{figures[f'{name}_p99_ms_{c}']:>10.2f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per figure, 1 licence")
    parser.add_argument("--json", action="store_true", help="one JSON object of figures")
    parser.add_argument("--workers", type=int, default=None, help="server processes")
    args = parser.parse_args(argv)
    figures, conditions = measure(args.quick, args.workers)
    if args.json:
        print(json.dumps({**figures, "conditions": conditions}, indent=2))
    else:
        print(report(figures, conditions))


if __name__ == "__main__":
    main()
