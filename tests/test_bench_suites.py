"""Issue 19 point 7, the quick regression floor of `licledger bench suites` (the full bench is
``python -m bench.suites``): both crypto suites measured side by side in one run.

Floors, far from what this shared 2-core machine measures, so only a collapse fails: sealing a
licence page with SM2 at 0.5-0.6 of the P-256 rate (0.17 while the SM2 container was rebuilt
with asn1crypto for every licence, which this floor catches) and a QR signature check 3-4x the
P-256 time (Tongsuo's SM2 against OpenSSL's assembly P-256)."""

from __future__ import annotations

import pytest

from bench import suites

SEAL_RATE_FLOOR = 0.35  # sm / intl licences sealed per second
QR_TIME_CEILING = 6.0  # sm / intl time of one QR signature check


@pytest.mark.unit
def test_signing_layer_of_both_suites_keeps_its_floor() -> None:
    figures = suites.signing_figures(suites.QUICK)
    assert set(figures) == {"intl", "sm"}
    for suite in figures.values():
        assert suite["qr_verify_per_s"] > 0 and suite["seal_per_s"] > 0, figures
    ratios = suites._ratios(figures, None)
    assert ratios["signing_seal_rate_sm_over_intl"] >= SEAL_RATE_FLOOR, ratios
    assert ratios["signing_qr_time_sm_over_intl"] <= QR_TIME_CEILING, ratios


@pytest.mark.unit
def test_the_report_prints_the_conditions_and_both_suites() -> None:
    figures = {
        "signing": suites.signing_figures(suites.QUICK),
        "conditions": {"cores": 2, "load_1min": 1.0},
    }
    figures["ratios"] = suites._ratios(figures["signing"], None)
    text = suites.report(figures)
    assert text.startswith("conditions: cores: 2; load_1min: 1.0")
    assert "intl" in text and "sm/intl" in text and "signing seal_per_s" in text


IMPORT_RATE_FLOOR = 0.4  # sm / intl bulk import rate (measured ~1.0 here: rendering dominates)
HTTP_QR_TIME_CEILING = 4.0  # sm / intl time of a QR verification through `licledger serve`


@pytest.mark.e2e
def test_regions_of_both_suites_keep_their_floor() -> None:
    """A throw-away region of each suite on its own anvil node: a small bulk import, then QR
    verification in process and through a real `licledger serve` (every sample VALID first)."""
    plan = suites.Plan(rounds=2, qr_seconds=0.3, seals=1, import_rows=12)
    figures = suites.region_figures(plan)
    for name in ("intl", "sm"):
        assert set(figures[name]) == {"import_licences_per_s", "qr_verify_per_s", "qr_http_per_s"}
        assert min(figures[name].values()) > 0, figures
    ratios = suites._ratios(suites.signing_figures(suites.QUICK), figures)
    assert ratios["import_rate_sm_over_intl"] >= IMPORT_RATE_FLOOR, ratios
    assert ratios["qr_time_sm_over_intl"] <= HTTP_QR_TIME_CEILING, ratios
