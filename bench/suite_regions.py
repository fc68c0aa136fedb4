"""The region layer of ``bench.suites``: one throw-away region's bulk import and QR
verification, the same for either crypto suite (the region's CA decides which)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from bench.issue_data import write_csv
from licence_service.region.runtime import Runtime
from licence_service.services.bulk_import import ImportOptions, RowResult, run_import
from licence_service.services.verify import verify_qr
from licence_service.store.models import LicenceVersion
from verifier.verdicts import Verdict

SAMPLES = 16


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls of ``work`` per second over about ``seconds`` (at least one call)."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        work()
        done += 1
    return done / max(elapsed, 1e-9)


def measure_region(rt: Runtime, rows: int, seconds: float) -> dict[str, float]:
    """``import_licences_per_s`` (CSV to anchored and confirmed) and ``qr_verify_per_s``
    (the service's verification of the imported licences' QR codes, each checked VALID
    first); raises when a row fails, so a figure always counts licences that were issued."""
    with rt.sessions() as s:
        agency = rt.agency(s)
    errors: list[RowResult] = []

    def sink(result: RowResult) -> None:
        if result.status == "error":
            errors.append(result)

    csv_path = write_csv(rt.settings.home / "bulk.csv", rows)
    summary = run_import(rt, csv_path, ImportOptions("BL01", agency.code), sink)
    if summary.issued != rows or errors:
        raise RuntimeError(f"bulk import issued {summary.issued} of {rows}: {errors[:3]}")
    with rt.sessions() as s:
        payloads = list(s.scalars(select(LicenceVersion.qr_payload).limit(SAMPLES)))
    for payload in payloads:
        result = verify_qr(rt, payload)
        if result.verdict is not Verdict.VALID:
            raise RuntimeError(
                f"an imported licence's QR code is {result.verdict}: {result.reason}"
            )
    state = {"i": 0}

    def check() -> None:
        verify_qr(rt, payloads[state["i"] % len(payloads)])
        state["i"] += 1

    return {
        "import_licences_per_s": round(summary.licences_per_s, 1),
        "qr_verify_per_s": round(rate(check, seconds), 1),
    }
