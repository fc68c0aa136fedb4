"""Item 6: what VALID shows.

Observed before the fix: the /v/<token> page showed only identifier, issuer and dates, so a
genuine QR copied onto a forged paper read VALID with nothing to compare against the paper;
a window-staff key turned an arbitrary picture into a grade-B document that verified VALID
naming the agency as issuer, with the grade shown nowhere (the API response dropped it). Now
every verdict (API, page, CLI) carries the licence type, the holder's name masked, the trust
grade, and "as of T" for a point-in-time answer; the QR itself carries the signed type and
masked holder, so a counter can compare them with the paper; a grade-B copy says it is a copy
checked by window staff of the agency, never the agency's original.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from licence_service.api.app import create_app
from licence_service.services.upgrade import submit_copy, upgrade_to_b
from signing.pdf_metadata import read_metadata
from tests.security.trust_fixtures import (
    A1,
    ISSUER_ON_BOTH_SUITES,
    Regions,
    flush,
    issue_by,
    qr_token,
)
from tests.service_fixtures import HOLDER_USCC
from verifier.metadata import METADATA_FILE
from verifier.qr import parse_token
from verifier.verdicts import Verdict

HOLDER = "杭州青禾科技有限公司"
MASKED = "杭州******公司"

pytestmark = ISSUER_ON_BOTH_SUITES  # what a counter shows for an intl issuer's and an sm one's


@pytest.fixture(scope="module")
def client(regions: Regions) -> TestClient:
    return TestClient(create_app(regions.b, background=False))  # another region's counter


def test_the_qr_lets_a_counter_compare_the_paper(regions: Regions, client: TestClient) -> None:
    doc = issue_by(regions.a, A1)
    claims = parse_token(qr_token(doc)).claims
    assert (claims.type_code, claims.holder_masked) == ("BL01", MASKED)
    out = client.post("/api/v1/verify/qr", json={"payload": qr_token(doc)}).json()
    assert out["verdict"] == "VALID"
    assert (out["holder_name"], out["type_code"], out["issuer_code"]) == (MASKED, "BL01", A1)
    assert out["trust_grade"] == "A" and out["document_note"] is None
    page = client.get(f"/v/{qr_token(doc)}").text
    for shown in (MASKED, "BL01", "330100", "持证主体"):  # the holder's row, in Chinese by default
        assert shown in page
    assert HOLDER not in page


def test_pdf_verdicts_show_type_masked_holder_and_grade(
    regions: Regions, client: TestClient
) -> None:
    doc = issue_by(regions.a, A1)
    files = {"file": ("l.pdf", doc.pdf_path.read_bytes(), "application/pdf")}
    out = client.post("/api/v1/verify/pdf", files=files).json()
    assert out["verdict"] == "VALID", out
    assert (out["holder_name"], out["type_name"], out["trust_grade"]) == (MASKED, "营业执照", "A")
    assert out["as_of"] is None and "current" in out["reason"]


def test_point_in_time_answers_say_as_of_never_current(
    regions: Regions, client: TestClient
) -> None:
    doc = issue_by(regions.a, A1)
    at = datetime.now(UTC) + timedelta(days=1)
    out = client.post(
        "/api/v1/verify/qr", json={"payload": qr_token(doc), "at": at.isoformat()}
    ).json()
    assert out["verdict"] == "VALID"
    assert out["as_of"] is not None and "as of" in out["reason"] and "current" not in out["reason"]
    cli = _cli_verify(regions, doc.pdf_path, "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert cli["as_of"] and "as of" in cli["reason"] and "current" not in cli["reason"]
    assert (cli["holder_name"], cli["trust_grade"], cli["type_code"]) == (MASKED, "A", "BL01")


def test_a_grade_b_copy_never_looks_like_the_agencys_original(
    regions: Regions, client: TestClient
) -> None:
    a = regions.a
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(buf, "PNG")  # an arbitrary picture
    sub = submit_copy(a, buf.getvalue(), "营业执照", HOLDER, HOLDER_USCC, "C")
    until = datetime.now(UTC).date() + timedelta(days=10)
    checked = upgrade_to_b(a, sub.submission_id, "窗口 张三", until)
    flush(a)
    assert checked.pdf_path is not None
    files = {"file": ("b.pdf", Path(checked.pdf_path).read_bytes(), "application/pdf")}
    out = client.post("/api/v1/verify/pdf", files=files).json()
    assert out["verdict"] == Verdict.VALID
    assert out["trust_grade"] == "B"
    note = "checked copy (grade B) made by window staff of 杭州市市场监督管理局"
    assert out["document_note"].startswith(note)
    assert out["reason"].startswith(note)
    assert "not the issuing agency's original" in out["reason"]
    # the copy's QR code says the same
    token = read_metadata(Path(checked.pdf_path).read_bytes(), METADATA_FILE)["qr_token"]
    by_qr = client.post("/api/v1/verify/qr", json={"payload": token}).json()
    assert by_qr["verdict"] == "VALID" and by_qr["trust_grade"] == "B"
    assert by_qr["document_note"].startswith(note) and by_qr["reason"].startswith(note)


def _cli_verify(regions: Regions, pdf: Path, *args: str) -> dict[str, object]:
    rt = regions.a
    env = {
        **os.environ,
        "LICLEDGER_RPC_URL": rt.settings.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(rt.settings.chain_port),
    }
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "licledger"), "verify", str(pdf), *args,
         "--data-dir", str(rt.settings.home), "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return dict(json.loads(proc.stdout))
