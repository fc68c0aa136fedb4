"""Anchoring with real block times: ``licledger bench blocks [--block-time 2] [--confirmations N]``.

Every other benchmark runs on an instantly mining node (a block per transaction, at once); a
real network seals a block every few seconds (Besu QBFT's ``blockperiodseconds``, Clique's
``period``). Here a throwaway anvil node mines every ``block_time`` seconds and one region
runs on it, its anchoring worker in a background thread as in ``licledger serve``:

- **anchoring throughput**: ``licences`` recorded first (issued, not anchored), then the time
  until every one is anchored and final; licences per second;
- **time-to-VALID**: licences issued one after another while the worker runs; for each, the
  time from the issuance's answer (recorded, PENDING) until a verifier's answer for its QR
  code is VALID (the index synced every ``POLL`` seconds); p50 and p99.

With ``confirmations`` N a batch counts only once N blocks are on top of it
(``LICLEDGER_CONFIRMATIONS``): time-to-VALID grows by about N block times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from typing import Any

from sqlalchemy import func, select

from bench.gas_measure import anvil_version
from bench.region import bench_region
from licence_service.anchoring.worker import AnchorWorker, wait_anchored
from licence_service.demo.applicants import demo_applications
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services.issue import IssuedDocument, IssueRequest, issue
from licence_service.store.models import LicenceVersion, OutboxEntry
from verifier.engine import Verifier, VerifierConfig
from verifier.verdicts import Verdict

POLL = 0.1  # seconds between two verification rounds of the time-to-VALID poller


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _requests(n: int, seed: int) -> list[IssueRequest]:
    return [
        IssueRequest(a.type_code, a.holder_name, a.holder_id, a.fields)
        for a in demo_applications(n, "330100", seed=seed)
    ]


def _throughput(rt: Runtime, n: int) -> dict[str, Any]:
    """Record ``n`` licences, then anchor them all (to final); licences per second."""
    docs = [issue(rt, req) for req in _requests(n, seed=1)]
    started = time.perf_counter()
    AnchorWorker(rt).flush()
    wait_anchored(rt, [bytes.fromhex(d.leaf) for d in docs], timeout=300)
    took = time.perf_counter() - started
    return {
        "anchored_licences": n,
        "anchor_seconds": round(took, 2),
        "anchoring_licences_per_s": round(n / took, 1),
    }


def _qr_payload(rt: Runtime, doc: IssuedDocument) -> str:
    with rt.sessions() as s:
        return str(
            s.scalar(
                select(LicenceVersion.qr_payload).where(LicenceVersion.identifier == doc.licence_id)
            )
        )


def _time_to_valid(rt: Runtime, n: int, pace: float) -> dict[str, Any]:
    """Issue ``n`` licences ``pace`` seconds apart while the worker runs; seconds from each
    answer to its first VALID verdict."""
    verifier = Verifier(
        index=rt.index, trust=rt.trust_store(), pending=rt.pending_leaf,
        config=VerifierConfig(sync_before_verify=False),
    )  # fmt: skip
    waiting: dict[str, tuple[float, str]] = {}  # licence -> (answered at, QR payload)
    seconds: list[float] = []
    lock, done, stop = threading.Lock(), threading.Event(), threading.Event()

    def poll() -> None:
        while not (done.is_set() and not waiting):
            rt.indexer.sync()
            with lock:
                todo = list(waiting.items())
            for licence, (answered, payload) in todo:
                if verifier.verify_qr(payload).verdict is Verdict.VALID:
                    seconds.append(time.perf_counter() - answered)
                    with lock:
                        del waiting[licence]
            time.sleep(POLL)

    worker = threading.Thread(target=AnchorWorker(rt).run, args=(stop,), daemon=True)
    poller = threading.Thread(target=poll, daemon=True)
    worker.start()
    poller.start()
    try:
        for req in _requests(n, seed=2):
            doc = issue(rt, req)  # answered: recorded and queued (PENDING)
            with lock:
                waiting[doc.licence_id] = (time.perf_counter(), _qr_payload(rt, doc))
            time.sleep(pace)
        done.set()
        poller.join(300)
    finally:
        stop.set()
        worker.join(30)
    if waiting:
        raise RuntimeError(f"{len(waiting)} licences did not verify VALID within 300 s")
    return {
        "time_to_valid_n": len(seconds),
        "time_to_valid_p50_s": round(_pct(seconds, 50), 2),
        "time_to_valid_p99_s": round(_pct(seconds, 99), 2),
        "time_to_valid_max_s": round(max(seconds), 2),
    }


def run(
    quick: bool = False, block_time: float = 2.0, confirmations: int = 0, licences: int = 0
) -> dict[str, Any]:
    """Both figures with their conditions, on a node mining every ``block_time`` seconds."""
    n = licences or (64 if quick else 512)
    m = 16 if quick else 60
    pace = 0.25
    t0 = time.perf_counter()
    with bench_region(block_time=block_time, confirmations=confirmations) as rt:
        setup_s = time.perf_counter() - t0
        settings = rt.settings
        figures = _throughput(rt, n)
        figures |= _time_to_valid(rt, m, pace)
        with rt.sessions() as s:  # the operation log's heads, queued last: made final too
            left = s.scalars(
                select(OutboxEntry.leaf).where(OutboxEntry.state != OutboxState.ANCHORED)
            ).all()
        AnchorWorker(rt).flush()
        wait_anchored(rt, list(left), timeout=120)
        with rt.sessions() as s:
            unanchored = s.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state != OutboxState.ANCHORED)
            )
        figures["left_unanchored"] = int(unanchored or 0)
    figures["conditions"] = {
        "chain": f"{anvil_version()}, --block-time {block_time:g}, on loopback",
        "confirmations": confirmations,
        "batch_size": settings.batch_size,
        "flush_interval_s": settings.flush_interval,
        "database": "SQLite",
        "time_to_valid": f"{m} licences issued {pace:g} s apart, QR verified every {POLL:g} s",
        "set_up_seconds": round(setup_s, 1),
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blocks", description=__doc__)
    parser.add_argument("--block-time", type=float, default=2.0)
    parser.add_argument("--confirmations", type=int, default=0)
    parser.add_argument("--licences", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick, args.block_time, args.confirmations, args.licences), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
