"""Both crypto suites side by side (issue 19, point 7): an ``sm`` region's QR verification and
PDF sealing against an ``intl`` region's, on the same machine in the same run.

Targets: QR verification of ``sm`` at most 1.5x the time of ``intl``; bulk import of ``sm`` at
least 80 % of ``intl``'s rate. Two layers are measured:

- **signing** (always): what the suite changes and nothing else — a QR token parsed and its
  signature checked against the agency certificate (``verifier.qr.parse_token`` +
  ``signing.compact.verify_compact``, the verifier's hot path), and one licence page sealed
  (``signing.pades.sign_pdf``, the import's per-licence signing), with credentials of each suite
  made by ``signing/``.
- **region**: a throw-away region of each suite on its own anvil node; the bulk import end to
  end (render, seal, store, anchor, confirm) and QR verification of the imported licences, in
  process and through ``licledger serve`` (:mod:`bench.suite_regions`).

The suites take turns, round after round, and each keeps its best round: on a shared machine
load that comes and goes then falls on both alike. ``python -m bench.suites [--quick]
[--json]``; ``licledger bench suites``; ``run(quick)`` returns the figures and conditions.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bench.issue_data import row
from bench.naive import render
from bench.region import machine
from bench.suite_regions import measure_regions, rate, turns
from licence_service.documents.fonts import cjk_font_name
from signing.certificates import KeyAndCert, create_region_ca, issue_agency_certificate
from signing.compact import sign_compact, verify_compact
from signing.pades import SignerConfig, sign_pdf
from signing.sm2_certificates import SmKeyAndCert, create_sm_region_ca, issue_sm_agency_certificate
from verifier.qr import QrClaims, parse_token

SUITE_NAMES = ("intl", "sm")
QR_TIME_TARGET = 1.5  # sm / intl time per QR verification, at most
IMPORT_RATE_TARGET = 0.8  # sm / intl bulk import rate, at least
REGION = "440300"
AGENCY = "11440300MB2C123452"
VALID_UNTIL = date(2031, 12, 31)


@dataclass(frozen=True)
class Plan:
    """How long each measurement runs and how often the suites take turns."""

    rounds: int
    qr_seconds: float
    seals: int
    import_rows: int


QUICK = Plan(rounds=2, qr_seconds=0.3, seals=4, import_rows=24)
FULL = Plan(rounds=5, qr_seconds=2.0, seals=40, import_rows=2000)


def credentials(suite: str) -> KeyAndCert | SmKeyAndCert:
    """A region CA and one agency certificate of ``suite``, made by the signing layer."""
    if suite == "sm":
        return issue_sm_agency_certificate(
            create_sm_region_ca(REGION, "深圳市"), AGENCY, "深圳市市场监督管理局", REGION
        )
    return issue_agency_certificate(
        create_region_ca(REGION, "深圳市"), AGENCY, "深圳市市场监督管理局", REGION
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tokens(creds: KeyAndCert | SmKeyAndCert, count: int = 16) -> list[str]:
    out = []
    for i in range(count):
        claims = QrClaims(f"4403002026{i:07d}A", f"{i:016x}", VALID_UNTIL, AGENCY, int(REGION),
                          "BL01", "深圳*科技有限公司")  # fmt: skip
        message = claims.message()
        out.append(f"LL1.{_b64(message)}.{_b64(sign_compact(creds.key, message))}")
    return out


def _qr_checker(creds: KeyAndCert | SmKeyAndCert) -> Callable[[], object]:
    tokens = _tokens(creds)
    cert = creds.cert
    state = {"i": 0}

    def check() -> None:
        token = parse_token(tokens[state["i"] % len(tokens)])
        state["i"] += 1
        if not verify_compact(cert, token.message, token.signature):
            raise RuntimeError("a genuine token did not verify: the figure would be meaningless")

    return check


def signing_figures(plan: Plan) -> dict[str, dict[str, float]]:
    """Per suite: ``qr_verify_per_s``, ``qr_verify_us`` and ``seal_per_s`` (one page sealed)."""
    creds = {name: credentials(name) for name in SUITE_NAMES}
    page = render(row(1), cjk_font_name(), "http://127.0.0.1:8600/v/LL1.x.y")
    best: dict[str, dict[str, float]] = {name: {"qr": 0.0, "seal": 0.0} for name in SUITE_NAMES}
    for r in range(plan.rounds):
        for name in turns(SUITE_NAMES, r):
            qr = rate(_qr_checker(creds[name]), plan.qr_seconds)
            config = SignerConfig(creds[name])
            sign_pdf(page, config)  # the container template is built once per credentials
            started = time.perf_counter()
            for _ in range(plan.seals):
                sign_pdf(page, config)
            seal = plan.seals / (time.perf_counter() - started)
            best[name] = {"qr": max(best[name]["qr"], qr), "seal": max(best[name]["seal"], seal)}
    return {
        name: {
            "qr_verify_per_s": round(b["qr"], 1),
            "qr_verify_us": round(1e6 / b["qr"], 1),
            "seal_per_s": round(b["seal"], 1),
        }
        for name, b in best.items()
    }


def region_figures(plan: Plan) -> dict[str, dict[str, float]]:
    """Per suite: ``import_licences_per_s`` (end to end), ``qr_verify_per_s`` (in process) and
    ``qr_http_per_s`` (through ``licledger serve``), see :mod:`bench.suite_regions`."""
    return measure_regions(SUITE_NAMES, plan)


def _ratios(signing: dict[str, Any], region: dict[str, Any] | None) -> dict[str, Any]:
    intl, sm = signing["intl"], signing["sm"]
    out: dict[str, Any] = {
        "signing_qr_time_sm_over_intl": round(intl["qr_verify_per_s"] / sm["qr_verify_per_s"], 2),
        "signing_seal_rate_sm_over_intl": round(sm["seal_per_s"] / intl["seal_per_s"], 2),
    }
    if region is not None:
        ri, rs = region["intl"], region["sm"]
        best = {
            "qr_time_sm_over_intl": round(ri["qr_http_per_s"] / rs["qr_http_per_s"], 2),
            "in_process_qr_time_sm_over_intl": round(
                ri["qr_verify_per_s"] / rs["qr_verify_per_s"], 2
            ),
            "import_rate_sm_over_intl": round(
                rs["import_licences_per_s"] / ri["import_licences_per_s"], 2
            ),
        }
        # The headline is the median of the per-round ratios when there is one (see
        # bench.suite_regions._paired); the ratio of each suite's best round beside it.
        out.update(region.get("paired", best))
        out.update({f"{key}_of_best_rounds": value for key, value in best.items()})
    qr = out.get("qr_time_sm_over_intl", out["signing_qr_time_sm_over_intl"])
    out["qr_target_met"] = qr <= QR_TIME_TARGET
    if "import_rate_sm_over_intl" in out:
        out["import_target_met"] = out["import_rate_sm_over_intl"] >= IMPORT_RATE_TARGET
    return out


def run(quick: bool = False, regions: bool = True, plan: Plan | None = None) -> dict[str, Any]:
    """The figures of both suites, their ratios against the targets, and the conditions;
    ``regions=False`` measures the signing layer only (no chain)."""
    plan = plan or (QUICK if quick else FULL)
    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    signing = signing_figures(plan)
    region = region_figures(plan) if regions else None
    figures: dict[str, Any] = {"signing": signing}
    if region is not None:
        figures["region"] = region
    figures["ratios"] = _ratios(signing, region)
    figures["conditions"] = {
        **machine(),
        "load_1min_before": load_before,
        "seconds": round(time.perf_counter() - started, 1),
        "rounds": plan.rounds,
        "qr_seconds_per_round": plan.qr_seconds,
        "seals_per_round": plan.seals,
        "import_rows": plan.import_rows if region is not None else "not measured",
        "targets": f"QR time sm/intl <= {QR_TIME_TARGET}; import rate sm/intl >= "
        f"{IMPORT_RATE_TARGET}",
    }
    return figures


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, suites side by side, with the conditions first."""
    c = figures["conditions"]
    lines = ["conditions: " + "; ".join(f"{k}: {v}" for k, v in c.items())]
    lines.append(f"{'':34}{'intl':>10}{'sm':>10}{'sm/intl':>10}")
    layers = [("signing", figures["signing"])]
    if "region" in figures:
        layers.append(("region", figures["region"]))
    for layer, per_suite in layers:
        for key in per_suite["intl"]:
            intl, sm = per_suite["intl"][key], per_suite["sm"][key]
            lines.append(f"{layer + ' ' + key:34}{intl:>10.1f}{sm:>10.1f}{sm / intl:>10.2f}")
    lines.append("ratios: " + "; ".join(f"{k}: {v}" for k, v in figures["ratios"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--signing-only", action="store_true", help="no regions, no chain")
    parser.add_argument("--rows", type=int, default=None, help="rows each region imports")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rows:
        plan = replace(plan, import_rows=args.rows)
    figures = run(args.quick, regions=not args.signing_only, plan=plan)
    print(json.dumps(figures, ensure_ascii=False, indent=2) if args.json else report(figures))


if __name__ == "__main__":
    main()
