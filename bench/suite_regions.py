"""The region layer of ``bench.suites``: a throw-away region of each crypto suite, side by
side, each on its own anvil node; the same work for either (the region's CA decides the suite).

Both regions are up for the whole run and the suites take turns, round after round (the order
reversed every other round), each keeping its best round, so load from elsewhere on a shared
machine falls on both alike:

- bulk import: each round imports a fresh slice of rows into each region, end to end (CSV read,
  rendered, sealed, stored, anchored and confirmed);
- QR verification in process (``services.verify.verify_qr``: the verifier and its in-memory
  index, nothing else, so the suites' difference shows undiluted);
- QR verification as a counter gets it: ``POST /api/v1/verify/qr`` to a real ``licledger
  serve`` of each region (one worker each, :data:`HTTP_CLIENTS` clients), the figure
  ``licledger bench verify`` reports for a region.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Protocol

from sqlalchemy import select

from bench.issue_data import write_csv
from bench.loadgen import drive, qr_load
from bench.region import bench_region
from bench.verify_server import RATE_ENV, Region, Samples, Server, check_verdicts, serving
from licence_service.region.runtime import Runtime
from licence_service.services.bulk_import import ImportOptions, RowResult, run_import
from licence_service.services.verify import verify_qr
from licence_service.store.models import LicenceVersion
from verifier.verdicts import Verdict

SAMPLES = 16
HTTP_CLIENTS = 8


class Plan(Protocol):
    rounds: int
    qr_seconds: float
    import_rows: int


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls of ``work`` per second over about ``seconds`` (at least one call)."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        work()
        done += 1
    return done / max(elapsed, 1e-9)


def import_rate(rt: Runtime, rows: int, start: int) -> float:
    """Licences per second of one bulk import of ``rows`` new rows; raises when a row fails,
    so a figure always counts licences that were issued."""
    with rt.sessions() as s:
        agency = rt.agency(s)
    errors: list[RowResult] = []

    def sink(result: RowResult) -> None:
        if result.status == "error":
            errors.append(result)

    csv_path = write_csv(rt.settings.home / f"bulk-{start}.csv", rows, start=start)
    summary = run_import(rt, csv_path, ImportOptions("BL01", agency.code), sink)
    if summary.issued != rows or errors:
        raise RuntimeError(f"bulk import issued {summary.issued} of {rows}: {errors[:3]}")
    return float(summary.licences_per_s)


def valid_payloads(rt: Runtime) -> list[str]:
    """QR payloads of up to :data:`SAMPLES` imported licences, each checked VALID."""
    with rt.sessions() as s:
        payloads = list(s.scalars(select(LicenceVersion.qr_payload).limit(SAMPLES)))
    for payload in payloads:
        result = verify_qr(rt, payload)
        if result.verdict is not Verdict.VALID:
            raise RuntimeError(
                f"an imported licence's QR code is {result.verdict}: {result.reason}"
            )
    return payloads


def in_process_rate(rt: Runtime, payloads: list[str], seconds: float) -> float:
    state = {"i": 0}

    def check() -> None:
        verify_qr(rt, payloads[state["i"] % len(payloads)])
        state["i"] += 1

    return rate(check, seconds)


@contextmanager
def served(rt: Runtime, payloads: list[str]) -> Iterator[Server]:
    """``licledger serve`` (one worker) on the region's data directory and node, its samples
    checked VALID over HTTP and the worker warmed."""
    env = dict(os.environ) | RATE_ENV
    env |= {
        "LICLEDGER_HOME": str(rt.settings.home),
        "LICLEDGER_RPC_URL": rt.settings.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(rt.settings.chain_port),
        "LICLEDGER_EMBEDDED_CHAIN": "0",
    }
    env.pop("LICLEDGER_DATABASE_URL", None)
    with serving(Region(rt.settings.home, env), workers=1) as server:
        check_verdicts(server.url, Samples([], payloads))
        drive(server.url, qr_load(payloads), 2, 1.0)
        yield server


def http_rate(server: Server, payloads: list[str], seconds: float) -> float:
    fig = drive(server.url, qr_load(payloads), HTTP_CLIENTS, seconds)
    if fig.errors:
        raise RuntimeError(f"{fig.errors} of {fig.requests} QR requests failed or were refused")
    return float(fig.per_s)


def turns(suites: tuple[str, ...], round_no: int) -> tuple[str, ...]:
    """The suites in turn, the order reversed every other round (A B, B A, ...): a drift in
    the machine's load then favours neither."""
    return suites if round_no % 2 == 0 else suites[::-1]


def _paired(rounds: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """Median over rounds of the sm / intl ratio within each round (both suites measured
    back to back): a load swing between rounds falls on both sides of one ratio alike."""
    intl, sm = rounds["intl"], rounds["sm"]

    def median(key: str, sm_over_intl: bool) -> float:
        pairs = zip(intl[key], sm[key], strict=True)
        return round(statistics.median(s / i if sm_over_intl else i / s for i, s in pairs), 3)

    return {
        "qr_time_sm_over_intl": median("qr_http_per_s", sm_over_intl=False),
        "in_process_qr_time_sm_over_intl": median("qr_verify_per_s", sm_over_intl=False),
        "import_rate_sm_over_intl": median("import_licences_per_s", sm_over_intl=True),
    }


def measure_regions(suites: tuple[str, ...], plan: Plan) -> dict[str, dict[str, float]]:
    """Per suite, the best round of ``import_licences_per_s``, ``qr_verify_per_s`` (in
    process) and ``qr_http_per_s``; under ``paired``, the median per-round ratios."""
    best: dict[str, dict[str, float]] = {name: {} for name in suites}
    rounds: dict[str, dict[str, list[float]]] = {name: {} for name in suites}

    def keep(name: str, key: str, value: float) -> None:
        best[name][key] = round(max(value, best[name].get(key, 0.0)), 1)
        rounds[name].setdefault(key, []).append(value)

    with ExitStack() as stack:
        regions = {
            name: stack.enter_context(bench_region(name, batch_size=1024)) for name in suites
        }
        rows = max(1, plan.import_rows // plan.rounds)
        for r in range(plan.rounds):
            for name in turns(suites, r):
                keep(name, "import_licences_per_s", import_rate(regions[name], rows, r * rows))
        payloads = {name: valid_payloads(rt) for name, rt in regions.items()}
        for r in range(plan.rounds):
            for name in turns(suites, r):
                rt = regions[name]
                keep(name, "qr_verify_per_s", in_process_rate(rt, payloads[name], plan.qr_seconds))
        servers = {
            name: stack.enter_context(served(rt, payloads[name])) for name, rt in regions.items()
        }
        for r in range(plan.rounds):
            for name in turns(suites, r):
                seconds = max(1.0, plan.qr_seconds)
                keep(name, "qr_http_per_s", http_rate(servers[name], payloads[name], seconds))
    if set(suites) == {"intl", "sm"}:
        best["paired"] = _paired(rounds)
    return best
